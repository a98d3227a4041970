import Foundation
import PrivateFiles

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The accounts file on disk: read once at start, replaced atomically after changes (`AccountsPersister`).
///
/// It holds provider tokens in plaintext (the emulator's, worth nothing elsewhere), so it is written with mode 0600.
struct EmulatorAccountsFile: Sendable {
    /// Where the file lives.
    let path: String

    /// The directory the file and its temporary siblings live in.
    private var directory: String {
        let parent = (path as NSString).deletingLastPathComponent
        return parent.isEmpty ? "." : parent
    }

    /// The accounts saved in the file; nil when there is no file yet. Anything else that goes wrong is an error, never
    /// an empty store.
    func load() throws(EmulatorAccountsFileError) -> EmulatorAccountsSnapshot? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .missingDirectory(path: path)
        }
        var info = stat()
        if stat(path, &info) != 0 {
            let code = errno
            guard code == ENOENT else {
                throw .unreadable(path: path, reason: String(cString: strerror(code)))
            }
            return nil
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw .unreadable(path: path, reason: "not a regular file")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        let snapshot: EmulatorAccountsSnapshot
        do {
            snapshot = try JSONDecoder().decode(EmulatorAccountsSnapshot.self, from: data)
        } catch {
            // An empty file is corrupt too: the emulator never writes one (it replaces the file atomically).
            throw .corrupt(path: path, reason: Self.decodingReason(error))
        }
        if let inconsistency = snapshot.inconsistency {
            throw .corrupt(path: path, reason: inconsistency)
        }
        return snapshot
    }

    /// Replaces the file atomically with mode 0600 (`PrivateFile`). Blocking: call it off Swift's cooperative threads.
    func write(_ bytes: [UInt8]) throws(EmulatorAccountsFileError) {
        do {
            try PrivateFile.write(bytes: bytes, to: path)
        } catch {
            throw .unwritable(path: path, reason: error.reason)
        }
    }

    /// Where a decoding error points, without quoting the file (it holds tokens).
    private static func decodingReason(_ error: any Error) -> String {
        guard let decoding = error as? DecodingError else {
            return "not JSON"
        }
        let context: DecodingError.Context
        switch decoding {
        case .dataCorrupted(let found): context = found
        case .keyNotFound(_, let found): context = found
        case .typeMismatch(_, let found): context = found
        case .valueNotFound(_, let found): context = found
        @unknown default: return "not an accounts file"
        }
        let location = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        let detail = (context.underlyingError != nil || context.codingPath.isEmpty) ? "not JSON" : context.debugDescription
        return location.isEmpty ? detail : "\(detail) at \(location)"
    }
}

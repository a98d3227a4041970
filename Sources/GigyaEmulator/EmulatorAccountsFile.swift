import Foundation

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

    /// Replaces the file atomically: the bytes go to a new temporary file in the same directory, created exclusively with
    /// mode 0600 and synced, which is then renamed over the old file. Blocking: call it off Swift's cooperative threads.
    func write(_ bytes: [UInt8]) throws(EmulatorAccountsFileError) {
        let name = (path as NSString).lastPathComponent
        let temporary = directory + "/." + name + "." + GigyaEmulator.randomHex(8) + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw .unwritable(path: path, reason: String(cString: strerror(errno)))
        }
        var failure: Int32?
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { systemWrite(descriptor, $0.baseAddress! + written, bytes.count - written) }
            if result < 0 && errno == EINTR {
                continue
            }
            guard result > 0 else {
                failure = errno
                break
            }
            written += result
        }
        if failure == nil, fsync(descriptor) != 0 {
            failure = errno
        }
        close(descriptor)
        if failure == nil, rename(temporary, path) != 0 {
            failure = errno
        }
        if let failure {
            unlink(temporary)
            throw .unwritable(path: path, reason: String(cString: strerror(failure)))
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

/// POSIX `write(2)`, under a name the `write` method above does not shadow.
private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(descriptor, buffer, count)
    #else
    Darwin.write(descriptor, buffer, count)
    #endif
}

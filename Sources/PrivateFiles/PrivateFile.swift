import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files that hold a secret (a password, a token, the emulator's accounts): mode 0600 from the first byte, never
/// widened by the umask or a later chmod, and replaced atomically, so a reader sees the old contents or the new, never a
/// half-written file.
public enum PrivateFile {
    /// Why a private file could not be written.
    public struct WriteError: Error, Sendable, CustomStringConvertible {
        public let path: String
        public let errno: Int32

        /// The system's words for the failure, without the path.
        public var reason: String { String(cString: strerror(errno)) }
        public var description: String { "could not write \(path): \(reason)" }
    }

    /// Replaces `path` with `contents`; see `write(bytes:to:)`.
    public static func write(_ contents: String, to path: String) throws(WriteError) {
        try write(bytes: Array(contents.utf8), to: path)
    }

    /// Replaces `path` with `bytes`: they go to a new temporary file in the same directory, created exclusively with
    /// mode 0600 and synced, which is then renamed over the old file. Blocking: call it off Swift's cooperative threads
    /// where it matters.
    public static func write(bytes: [UInt8], to path: String) throws(WriteError) {
        let parent = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let temporary = (parent.isEmpty ? "." : parent) + "/." + name + "." + String(UInt64.random(in: .min ... .max), radix: 16) + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw WriteError(path: path, errno: errno) }
        var failure: Int32?
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { systemWrite(descriptor, $0.baseAddress! + written, bytes.count - written) }
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else {
                failure = errno
                break
            }
            written += result
        }
        if failure == nil, fsync(descriptor) != 0 { failure = errno }
        close(descriptor)
        if failure == nil, rename(temporary, path) != 0 { failure = errno }
        if let failure {
            unlink(temporary)
            throw WriteError(path: path, errno: failure)
        }
    }
}

/// POSIX `write(2)`, under a name the `write` methods above do not shadow.
private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(descriptor, buffer, count)
    #else
    Darwin.write(descriptor, buffer, count)
    #endif
}

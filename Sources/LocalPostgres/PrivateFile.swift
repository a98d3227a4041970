import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files that hold a secret: created with mode 0600 from the first byte, never widened by the umask or a later chmod.
public enum PrivateFile {
    /// Why a private file could not be written.
    public struct WriteError: Error, Sendable, CustomStringConvertible {
        public let path: String
        public let errno: Int32

        public var description: String { "could not write \(path): \(String(cString: strerror(errno)))" }
    }

    /// Replaces `path` with `contents`: the old file is removed, the new one created exclusively with mode 0600.
    public static func write(_ contents: String, to path: String) throws {
        if unlink(path) != 0 && errno != ENOENT { throw WriteError(path: path, errno: errno) }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw WriteError(path: path, errno: errno) }
        defer { close(descriptor) }
        let bytes = Array(contents.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { systemWrite(descriptor, $0.baseAddress! + written, bytes.count - written) }
            guard result > 0 else { throw WriteError(path: path, errno: errno) }
            written += result
        }
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

/// Why the accounts file (`EmulatorConfiguration.accountsFile`) could not be used; the emulator then does not start,
/// so a file it cannot read is never silently replaced by an empty one.
public enum EmulatorAccountsFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file exists but cannot be read (permissions, a directory, …).
    case unreadable(path: String, reason: String)
    /// The file was read but is not an accounts file this version understands.
    case corrupt(path: String, reason: String)
    /// The directory that should hold the file does not exist, so it could never be written.
    case missingDirectory(path: String)
    /// Writing the file failed (the emulator keeps running and tries again after the next change).
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read the emulator accounts file \(path): \(reason)"
        case .corrupt(let path, let reason): "the emulator accounts file \(path) is not valid: \(reason)"
        case .missingDirectory(let path): "the directory of the emulator accounts file \(path) does not exist"
        case .unwritable(let path, let reason): "cannot write the emulator accounts file \(path): \(reason)"
        }
    }
}

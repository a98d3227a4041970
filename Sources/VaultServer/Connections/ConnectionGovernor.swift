import HummingbirdCore
import Logging
import NIOCore
import Synchronization
import VaultCore

/// The open connections of one listener, so that no client can hold more than its share: at most `maxPerPeer` from
/// one address (a new one beyond closes that address's connection idle longest, or is refused when all are busy), and
/// at the cap the connection idle longest (a keep-alive one, or one that never sent a byte) is closed so a new client
/// is served. Each connection's `ConnectionGuard` registers it and says when it is idle or busy.
///
/// Hummingbird's `availableConnectionsDelegate` stops accepting at `maxConnections + 1` (the one newcomer the cap lets in
/// to be served by an eviction), so beyond that, with nothing idle to close, clients wait in the listen backlog.
final class ConnectionGovernor: Sendable {
    /// Why the governor or a guard closed a connection, as the metric names it.
    enum CloseReason: String, Sendable {
        /// No whole request head within the head deadline of the connection's start or of its first byte.
        case headDeadline = "head_deadline"
        /// The request's body was not fully received within the read deadline of its head.
        case readDeadline = "read_deadline"
        /// Its address already had `maxPerPeer` connections open, all of them busy.
        case peerLimit = "peer_limit"
        /// It was the idle connection closed at the cap for a new one.
        case evicted
    }

    /// What `open` decided.
    enum Admission: Sendable {
        /// Serve it.
        case admitted
        /// Over the cap with nothing idle to close: leave it unread until a connection closes, then `unpark` runs.
        case parked
        /// Its peer is at its limit: close it.
        case refused
    }

    struct Entry {
        let channel: any Channel
        let peer: String
        /// When it became idle; nil while a request is being received or answered, or while parked.
        var idleSince: NIODeadline?
        /// Set while parked: what lets it be read once there is room.
        var unpark: (@Sendable () -> Void)?
    }

    struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var perPeer: [String: Int] = [:]
        /// Parked connections, oldest first.
        var parked: [ObjectIdentifier] = []
    }

    let maxConnections: Int
    let maxPerPeer: Int
    let onClose: @Sendable (CloseReason) -> Void
    private let state = Mutex(State())

    init(maxConnections: Int, maxPerPeer: Int, onClose: @escaping @Sendable (CloseReason) -> Void = { _ in }) {
        self.maxConnections = maxConnections
        self.maxPerPeer = maxPerPeer
        self.onClose = onClose
    }

    /// The connections open now, and how many of them are idle.
    var counts: (open: Int, idle: Int) {
        state.withLock { state in (state.entries.count, state.entries.values.count { $0.idleSince != nil }) }
    }

    /// Registers a new connection, idle from now. At the cap the connection idle longest is closed to make room; with
    /// none idle the new one is parked, and `unpark` runs once a connection closes or goes idle (which is then closed).
    func open(_ channel: any Channel, unpark: @escaping @Sendable () -> Void) -> Admission {
        let id = ObjectIdentifier(channel)
        let peer = channel.remoteAddress?.ipAddress ?? "unknown"
        let (admission, evict): (Admission, (any Channel)?) = state.withLock { state in
            if state.perPeer[peer, default: 0] >= maxPerPeer {
                // The peer's own idle connection makes room; with all of its connections busy, the newcomer is refused.
                guard let oldest = Self.takeOldestIdle(&state, except: id, peer: peer) else { return (.refused, nil) }
                state.entries[id] = Entry(channel: channel, peer: peer, idleSince: .now())
                state.perPeer[peer, default: 0] += 1
                return (.admitted, oldest)
            }
            state.entries[id] = Entry(channel: channel, peer: peer, idleSince: .now())
            state.perPeer[peer, default: 0] += 1
            guard state.entries.count > maxConnections else { return (.admitted, nil) }
            if let oldest = Self.takeOldestIdle(&state, except: id) { return (.admitted, oldest) }
            state.entries[id]?.idleSince = nil
            state.entries[id]?.unpark = unpark
            state.parked.append(id)
            return (.parked, nil)
        }
        if case .refused = admission { onClose(.peerLimit) }
        if let evict { self.evict(evict) }
        return admission
    }

    /// The connection has no request in progress (or has one again, with `idle: false`). Going idle while a connection
    /// is parked, it is closed for that one.
    func mark(_ channel: any Channel, idle: Bool) {
        let evict: Bool = state.withLock { state in
            let id = ObjectIdentifier(channel)
            guard state.entries[id] != nil, state.entries[id]?.unpark == nil else { return false }
            guard idle else {
                state.entries[id]?.idleSince = nil
                return false
            }
            guard state.parked.isEmpty else { return true }
            state.entries[id]?.idleSince = .now()
            return false
        }
        if evict { self.evict(channel) }
    }

    /// Forgets a connection that closed; a parked one may then be read.
    func closed(_ channel: any Channel) {
        let unpark: (@Sendable () -> Void)? = state.withLock { state in
            let id = ObjectIdentifier(channel)
            guard let entry = state.entries.removeValue(forKey: id) else { return nil }
            let left = state.perPeer[entry.peer, default: 1] - 1
            state.perPeer[entry.peer] = left > 0 ? left : nil
            state.parked.removeAll { $0 == id }
            guard state.entries.count <= maxConnections, !state.parked.isEmpty else { return nil }
            let next = state.parked.removeFirst()
            defer { state.entries[next]?.unpark = nil }
            return state.entries[next]?.unpark
        }
        unpark?()
    }

    /// The idle connection idle longest (not `except`; of `peer`, if given), marked busy so nothing picks it again
    /// while it closes.
    private static func takeOldestIdle(_ state: inout State, except: ObjectIdentifier, peer: String? = nil) -> (any Channel)? {
        var oldest: (ObjectIdentifier, NIODeadline)?
        for (id, entry) in state.entries where id != except && (peer == nil || entry.peer == peer) {
            if let since = entry.idleSince, oldest.map({ since < $0.1 }) ?? true { oldest = (id, since) }
        }
        guard let oldest else { return nil }
        state.entries[oldest.0]?.idleSince = nil
        return state.entries[oldest.0]?.channel
    }

    private func evict(_ channel: any Channel) {
        onClose(.evicted)
        channel.close(mode: .all, promise: nil)
    }

    /// A governor for a listener with `limits`, counting what it closes in `vault_http_connections_closed_total`.
    convenience init(_ limits: HTTPLimits, listener: String, metrics: VaultMetrics) {
        self.init(maxConnections: limits.maxConnections, maxPerPeer: limits.maxConnectionsPerPeer) { reason in
            metrics.connectionClosed(listener: listener, reason: reason.rawValue)
        }
    }

    /// What Hummingbird asks before accepting: up to one connection past the cap, for an eviction to make room for.
    var admission: MaximumAvailableConnections {
        MaximumAvailableConnections(maxConnections + 1, logger: Logger(label: "session-vault.connections"))
    }
}

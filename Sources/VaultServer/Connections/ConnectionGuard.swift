import NIOCore
import NIOHTTPTypes

/// One connection's deadlines, and what it tells its listener's `ConnectionGovernor`:
/// - a new connection must deliver a whole request head within `headTimeout`, and so must a kept-alive one from the first
///   byte of its next request: a socket that sends nothing, or a head a byte at a time, is closed in seconds;
/// - a request's body must be fully received within `readTimeout` of its head;
/// - between requests it is idle, and the governor may close it at the cap for a new client.
///
/// It sits after the HTTP decoder and puts a `FirstByteWatch` at the front of the pipeline to learn when a head starts.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let governor: ConnectionGovernor
    private let headTimeout: TimeAmount
    private let readTimeout: TimeAmount
    private var headDeadline: Scheduled<Void>?
    private var readDeadline: Scheduled<Void>?
    /// Between a head and its end.
    private var receiving = false
    /// Requests whose head arrived and whose response has not been written in full.
    private var unanswered = 0
    private var watch: FirstByteWatch?

    init(governor: ConnectionGovernor, headTimeout: TimeAmount, readTimeout: TimeAmount) {
        self.governor = governor
        self.headTimeout = headTimeout
        self.readTimeout = readTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let admission = governor.open(channel) {
            // Room at last: read it, with the head deadline from now.
            channel.eventLoop.execute {
                loopBound.value.0.startHeadDeadline(context: loopBound.value.1)
                channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in channel.close(promise: nil) }
            }
        }
        if case .refused = admission {
            context.close(mode: .all, promise: nil)
            return
        }
        channel.closeFuture.whenComplete { [governor] _ in governor.closed(channel) }
        let watch = FirstByteWatch()
        watch.onBytes = { loopBound.value.0.headStarted(context: loopBound.value.1) }
        self.watch = watch
        try? context.pipeline.syncOperations.addHandler(watch, position: .first)
        if case .parked = admission {
            // Not read until there is room: its bytes wait in the socket, and no deadline runs meanwhile.
            try? channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
        } else {
            // A new connection is a head in waiting: it gets the head deadline from its first moment.
            startHeadDeadline(context: context)
        }
    }

    /// Bytes arrived; outside a request they begin a head, which must be whole within the head deadline.
    private func headStarted(context: ChannelHandlerContext) {
        guard !receiving, headDeadline == nil else { return }
        governor.mark(context.channel, idle: false)
        startHeadDeadline(context: context)
    }

    private func startHeadDeadline(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        headDeadline = context.eventLoop.scheduleTask(in: headTimeout) { [governor] in
            governor.onClose(.headDeadline)
            loopBound.value.close(mode: .all, promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            headDeadline?.cancel()
            headDeadline = nil
            receiving = true
            unanswered += 1
            governor.mark(context.channel, idle: false)
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            readDeadline?.cancel()
            readDeadline = context.eventLoop.scheduleTask(in: readTimeout) { [governor] in
                governor.onClose(.readDeadline)
                loopBound.value.close(mode: .all, promise: nil)
            }
        case .end:
            readDeadline?.cancel()
            readDeadline = nil
            receiving = false
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            unanswered = max(0, unanswered - 1)
            if unanswered == 0, !receiving, headDeadline == nil { governor.mark(context.channel, idle: true) }
        }
        context.write(data, promise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelDeadlines()
        if let watch { context.pipeline.syncOperations.removeHandler(watch, promise: nil) }
        watch = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelDeadlines()
        context.fireChannelInactive()
    }

    private func cancelDeadlines() {
        headDeadline?.cancel()
        headDeadline = nil
        readDeadline?.cancel()
        readDeadline = nil
    }
}

/// At the front of a connection's pipeline: tells its `ConnectionGuard` that bytes arrived, and passes them on.
final class FirstByteWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    var onBytes: (() -> Void)?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        onBytes?()
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        onBytes = nil
    }
}

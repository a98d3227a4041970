import GigyaKit
public import Hummingbird
import Logging
import ServiceLifecycle

/// A local Gigya over real HTTP: the REST methods session-vault calls, the Web SDK login, webhooks and faults.
public enum GigyaEmulator {
    /// Builds the emulator as a Hummingbird application, to run in a `ServiceGroup` or with `runService()`.
    ///
    /// `onListening` receives the bound port (useful with port 0). Throws `EmulatorSiteError` for sites that cannot be
    /// served and `EmulatorAccountsFileError` for an accounts file that exists but cannot be read or understood.
    public static func makeApplication(
        configuration: EmulatorConfiguration,
        host: String,
        port: Int,
        onListening: @escaping @Sendable (Int) async -> Void
    ) throws -> some ApplicationProtocol {
        makeApplication(core: try EmulatorCore(configuration: configuration), host: host, port: port, onListening: onListening)
    }

    /// Builds the application around an engine.
    static func makeApplication(
        core: EmulatorCore,
        host: String,
        port: Int,
        onListening: @escaping @Sendable (Int) async -> Void
    ) -> some ApplicationProtocol {
        let router = Router(context: EmulatorRequestContext.self)
        addRoutes(to: router, core: core)
        var app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "gigya-emulator"),
            onServerRunning: { channel in
                await onListening(channel.localAddress?.port ?? port)
            },
            logger: core.logger
        )
        // The server is shut down first (services stop in reverse order), so the accounts file's last write sees every change.
        app.addServices(core.services)
        return app
    }

    /// Registers every route; the router must be complete before the application is built: routes added after the application is built are never served.
    static func addRoutes(to router: Router<EmulatorRequestContext>, core: EmulatorCore) {
        let control = router.group("_emulator")
        if let token = core.controlToken {
            control.add(middleware: ControlTokenMiddleware(token: token, core: core))
        }
        control.get("health") { _, _ in
            GigyaEmulator.jsonResponse(["status": "ok", "sites": core.apiKeys], status: 200)
        }
        control.post("login") { request, context in
            try await core.login(request, context: context)
        }
        control.get("users/:uid") { request, context in
            core.showUser(request, context: context)
        }
        control.post("users/:uid/rotate") { request, context in
            core.rotateUser(request, context: context)
        }
        control.post("users/:uid/delete") { request, context in
            core.deleteUser(request, context: context)
        }
        control.post("users") { request, context in
            await core.createUsers(request, context: context)
        }
        control.post("users/:uid/rename") { request, context in
            await core.renameUser(request, context: context)
        }
        control.post("users/:uid/merge") { request, context in
            await core.mergeUser(request, context: context)
        }
        control.post("users/:uid/events") { request, context in
            await core.emitEvent(request, context: context)
        }
        control.get("faults") { _, _ in
            GigyaEmulator.jsonResponse(encoding: core.faults.list())
        }
        control.post("faults") { request, context in
            try await core.addFaults(request, context: context)
        }
        control.delete("faults") { _, _ in
            core.faults.clear()
            return GigyaEmulator.jsonResponse(encoding: core.faults.list())
        }
        control.post("jwt") { request, context in
            try await core.mintJWT(request, context: context)
        }
        control.post("jwt/rotate") { request, context in
            try await core.rotateJWTKeys(request, context: context)
        }
        control.get("webhooks") { _, _ in
            GigyaEmulator.jsonResponse(encoding: core.webhooks.log())
        }
        control.get("webhooks/target") { _, _ in
            GigyaEmulator.jsonResponse(encoding: EmulatorWebhookTarget(url: core.webhooks.url))
        }
        control.post("webhooks/target") { request, context in
            await core.setWebhookTarget(request, context: context)
        }
        control.post("webhooks/redeliver") { request, context in
            await core.redeliverWebhook(request, context: context)
        }
        control.post("webhooks/sign") { request, context in
            await core.signWebhook(request, context: context)
        }
        control.get("stats") { _, _ in
            GigyaEmulator.jsonResponse(encoding: core.ledger.snapshot())
        }
        router.post(":method") { request, context in
            try await core.handleREST(request, method: context.parameters.get("method") ?? "", channel: context.channel)
        }
        router.get(":method") { request, context in
            try await core.handleREST(request, method: context.parameters.get("method") ?? "", channel: context.channel)
        }
    }

    /// Runs the emulator until SIGINT or SIGTERM, then shuts it down gracefully (for `session-vault emulator`).
    public static func runUntilSignalled(
        configuration: EmulatorConfiguration,
        host: String,
        port: Int,
        onListening: @escaping @Sendable (Int) async -> Void
    ) async throws {
        let app = try makeApplication(configuration: configuration, host: host, port: port, onListening: onListening)
        // Hummingbird's default graceful-shutdown signals are SIGTERM and SIGINT.
        try await app.runService()
    }

    /// Starts the emulator in-process and returns once it is listening (port 0 lets the OS choose).
    public static func start(configuration: EmulatorConfiguration, host: String = "127.0.0.1", port: Int = 0) async throws -> RunningEmulator {
        let core = try EmulatorCore(configuration: configuration)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = makeApplication(core: core, host: host, port: port) { bound in
            portContinuation.yield(bound)
            portContinuation.finish()
        }
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: configuration.logger))
        let task = Task {
            defer { portContinuation.finish() }
            try await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let bound = await iterator.next() else {
            // The server stopped before listening: surface its error (a port in use, say).
            try await task.value
            throw EmulatorStartError.stoppedBeforeListening
        }
        let printableHost = host.contains(":") ? "[\(host)]" : host
        return RunningEmulator(
            baseURL: "http://\(printableHost):\(bound)", port: bound, sites: configuration.sites, core: core, group: group, task: task
        )
    }
}

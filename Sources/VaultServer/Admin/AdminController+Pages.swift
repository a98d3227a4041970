import Foundation
import HTTPTypes
import Hummingbird
import GigyaKit
import VaultCore
import VaultStore

extension AdminController {
    // MARK: Signing in and out

    func signInPage(_ request: Request, _ visit: Visit) async throws -> Response {
        if visit.session != nil { return pages.redirect("/admin") }
        return pages.render("sign-in", title: "Sign in", view: SignInView(minutes: console.settings.sessionMinutes), session: nil)
    }

    func signIn(_ request: Request, _ visit: Visit) async throws -> Response {
        let minutes = console.settings.sessionMinutes
        let presented = (visit.form["key"] ?? "").trimmingCharacters(in: .whitespaces)
        switch try await console.signIn(key: presented, peer: visit.peer) {
        case .signedIn(let token):
            var response = pages.redirect("/admin")
            response.setCookie(Self.sessionCookie(token, seconds: minutes * 60, secure: visit.secure))
            return response
        case .refused(let reason, let retryAfter):
            let (message, status): (String, HTTPResponse.Status) =
                switch reason {
                case .rateLimited: ("Too many sign-in attempts. Try again in \(retryAfter?.components.seconds ?? 60) s.", .tooManyRequests)
                case .notAllSites: ("The admin page needs an admin key granted every site (keys create --all-sites).", .forbidden)
                case .notAdmin, .origin: ("That is not a live access key with the admin scope.", .unauthorized)
                }
            return pages.render(
                "sign-in", title: "Sign in", view: SignInView(minutes: minutes, error: message), session: nil, status: status,
                headers: retryAfter.map { [.retryAfter: String($0.components.seconds)] } ?? [:])
        }
    }

    func signOut(_ request: Request, _ visit: Visit) async throws -> Response {
        if let cookie = visit.cookie { try await console.signOut(cookie: cookie, session: visit.session) }
        var response = pages.redirect("/admin/sign-in")
        response.setCookie(Self.sessionCookie("", seconds: 0, secure: visit.secure))
        return response
    }

    // MARK: Overview

    func overview(_ request: Request, _ visit: Visit) async throws -> Response {
        pages.render("overview", title: "Overview", view: OverviewView(try await console.overview()), session: visit.session)
    }

    // MARK: A user

    func userPage(_ request: Request, _ visit: Visit) async throws -> Response {
        let site = try self.site(request, visit)
        let choices = choices(selected: site.apiKey)
        guard let query = request.uri.queryParameters.get("q"), !query.isEmpty else {
            return pages.render("user", title: "Users", view: UserView(query: "", choices: choices, site: site.apiKey, record: nil), session: visit.session)
        }
        do {
            try LoginIntake.validateUID(query)
        } catch {
            throw PageError(status: .badRequest, message: "That is not a UID: \(error)", back: "/admin/users")
        }
        let record = try await console.user(site: site.apiKey, uid: query)
        return pages.render(
            "user", title: "User \(query)", view: UserView(query: query, choices: choices, site: site.apiKey, record: record), session: visit.session,
            notice: Self.notice(request))
    }

    /// Fixed notices named by `?done=`, so no page reflects arbitrary text as a message.
    static func notice(_ request: Request) -> String? {
        switch request.uri.queryParameters.get("done") {
        case "deleted": "Every session of the user was deleted."
        case "refreshed": "The session was refreshed from Gigya."
        case "requeued": "The event is queued again."
        case "started": "The reconciliation started."
        case "busy": "A reconciliation of this site is already running."
        default: nil
        }
    }

    /// The user and provider a confirmation or action names.
    func target(_ request: Request, _ visit: Visit, provider needed: Bool) throws -> (site: GigyaSite, uid: String, provider: String?) {
        let site = try self.site(request, visit)
        let uid = visit.form["uid"] ?? request.uri.queryParameters.get("uid") ?? ""
        do {
            try LoginIntake.validateUID(uid)
        } catch {
            throw PageError(status: .badRequest, message: "That is not a UID.")
        }
        guard needed else { return (site, uid, nil) }
        do {
            return (site, uid, try LoginIntake.canonicalProvider(visit.form["provider"] ?? request.uri.queryParameters.get("provider") ?? ""))
        } catch {
            throw PageError(status: .badRequest, message: "That is not a provider.")
        }
    }

    /// The user page of `uid`, with `done` when a change was made.
    static func userPath(_ uid: String, site: GigyaSite, done: String? = nil) -> String {
        "/admin/users?q=\(AdminFormat.queryEscaped(uid))&site=\(site.apiKey)\(done.map { "&done=\($0)" } ?? "")"
    }

    func confirmDelete(_ request: Request, _ visit: Visit) async throws -> Response {
        let admin = try visit.admin
        let (site, uid, _) = try target(request, visit, provider: false)
        let sessions = try await console.sessions(site: site.apiKey, uid: uid)
        let view = ConfirmView(
            question: "This deletes what session-vault stores for this user on site \(site.apiKey); Gigya keeps its own account.",
            changes: sessions.map { "the \($0.provider) session (fetched \(AdminFormat.time($0.fetchedAt)))" }
                + ["every pending login event of the user is cancelled, and a fetch already under way cannot write back"],
            action: "/admin/users/delete", fields: [("site", site.apiKey), ("uid", uid)], button: "Delete every session",
            cancel: Self.userPath(uid, site: site), csrf: admin.csrfToken)
        return pages.render("confirm", title: "Delete every session of \(uid)?", view: view, session: admin)
    }

    func deleteUser(_ request: Request, _ visit: Visit) async throws -> Response {
        let (site, uid, _) = try target(request, visit, provider: false)
        try await console.deleteUser(site: site.apiKey, uid: uid, by: try visit.admin)
        return pages.redirect(Self.userPath(uid, site: site, done: "deleted"))
    }

    func confirmRefresh(_ request: Request, _ visit: Visit) async throws -> Response {
        let admin = try visit.admin
        let (site, uid, provider) = try target(request, visit, provider: true)
        let view = ConfirmView(
            question: "session-vault asks Gigya for this session now and stores what Gigya answers.", changes: [], action: "/admin/users/refresh",
            fields: [("site", site.apiKey), ("uid", uid), ("provider", provider!)], button: "Refresh from Gigya",
            cancel: Self.userPath(uid, site: site), csrf: admin.csrfToken)
        return pages.render("confirm", title: "Refresh the \(provider!) session of \(uid)?", view: view, session: admin)
    }

    func refresh(_ request: Request, _ visit: Visit) async throws -> Response {
        let (site, uid, provider) = try target(request, visit, provider: true)
        do {
            try await console.refresh(site: site, uid: uid, provider: provider!, by: try visit.admin)
        } catch let error as SessionServiceError {
            let answer = APIError(error)
            throw PageError(status: answer.status, message: "The refresh failed: \(answer.message)", back: Self.userPath(uid, site: site))
        }
        return pages.redirect(Self.userPath(uid, site: site, done: "refreshed"))
    }

    // MARK: Failed events

    static let failedPageSize = 50

    func failedEvents(_ request: Request, _ visit: Visit) async throws -> Response {
        let admin = try visit.admin
        var before: Date?
        if let text = request.uri.queryParameters.get("before") {
            guard let micros = Int64(text) else { throw PageError(status: .badRequest, message: "That is not a page of this list.", back: "/admin/events/failed") }
            before = Date(timeIntervalSince1970: Double(micros) / 1_000_000)
        }
        let events = try await console.failedEvents(before: before, limit: Self.failedPageSize)
        return pages.render(
            "failed", title: "Failed events", view: FailedEventsView(events, pageSize: Self.failedPageSize, csrf: admin.csrfToken), session: admin,
            notice: Self.notice(request))
    }

    func requeue(_ request: Request, _ visit: Visit) async throws -> Response {
        guard let id = visit.form["id"].flatMap(UUID.init(uuidString:)) else {
            throw PageError(status: .badRequest, message: "That is not an event id.", back: "/admin/events/failed")
        }
        guard try await console.requeue(event: id, by: try visit.admin) else {
            throw PageError(status: .conflict, message: "That event is no longer failed.", back: "/admin/events/failed")
        }
        return pages.redirect("/admin/events/failed?done=requeued")
    }

    // MARK: Reconciliation

    static let findingsPageSize = 50

    func reconciliation(_ request: Request, _ visit: Visit) async throws -> Response {
        let admin = try visit.admin
        let site = try self.site(request, visit)
        var category: ReconciliationCategory?
        if let name = request.uri.queryParameters.get("category") {
            guard let parsed = ReconciliationCategory(rawValue: String(name)) else { throw PageError(status: .badRequest, message: "No such category.") }
            category = parsed
        }
        let running = jobs.isRunning(site: site.apiKey)
        let findings = try await console.findings(
            site: site.apiKey, category: category, after: request.uri.queryParameters.get("after"), limit: Self.findingsPageSize)
        let view = ReconciliationView(
            choices: choices(selected: site.apiKey), site: site.apiKey, running: running, findings: findings, category: category,
            csrf: admin.csrfToken)
        // A run in progress refreshes the page every two seconds.
        let refresh = running || findings?.run.status == .running ? 2 : nil
        return pages.render("reconciliation", title: "Reconciliation", view: view, session: admin, refresh: refresh, notice: Self.notice(request))
    }

    func confirmRepair(_ request: Request, _ visit: Visit) async throws -> Response {
        let admin = try visit.admin
        let site = try self.site(request, visit)
        let last = try await console.latestRun(site: site.apiKey)
        var changes: [String] = []
        var orphans = 0
        if let last {
            let count = { (category: ReconciliationCategory) in last.counts[category.rawValue] ?? 0 }
            orphans = count(.orphan)
            changes = [
                "\(count(.pending) + count(.failed)) pending or failed link(s) are sent to Gigya again",
                "\(count(.drift)) drifted account(s) are fixed: links re-sent where Gigya lost the siteUID, data re-keyed where Gigya's UID changed",
                "\(orphans) orphan(s) are removed only if you tick the box below",
                "\(count(.conflict)) conflict(s) and \(count(.unlinked)) unlinked user(s) are left alone: they need a person",
            ]
        }
        let question = last.map { "The last run of site \(site.apiKey) (\($0.mode == .repair ? "a repair" : "a dry run"), \(AdminFormat.time($0.startedAt))) found what follows; the repair checks again and fixes what it finds then. Every change is audited." }
            ?? "No run of site \(site.apiKey) yet: the repair checks everything and fixes what it finds. Every change is audited."
        let view = ConfirmView(
            question: question, changes: changes, action: "/admin/reconciliation/run", fields: [("site", site.apiKey), ("mode", "repair")],
            purgeOption: true, orphans: orphans, button: "Run the repair", cancel: "/admin/reconciliation?site=\(site.apiKey)", csrf: admin.csrfToken)
        return pages.render("confirm", title: "Repair site \(site.apiKey)?", view: view, session: admin)
    }

    func runReconciliation(_ request: Request, _ visit: Visit) async throws -> Response {
        let admin = try visit.admin
        let site = try self.site(request, visit)
        guard let mode = visit.form["mode"].flatMap(ReconciliationMode.init(rawValue:)) else {
            throw PageError(status: .badRequest, message: "Choose a dry run or a repair.", back: "/admin/reconciliation")
        }
        let purge = mode == .repair && visit.form["purgeOrphans"] == "yes"
        let started = jobs.start(ReconcileRequest(site: site, mode: mode, purgeOrphans: purge, startedBy: AdminConsole.actor(admin).name))
        return pages.redirect("/admin/reconciliation?site=\(site.apiKey)&done=\(started ? "started" : "busy")")
    }

    // MARK: Audit log

    static let auditPageSize = 100

    func audit(_ request: Request, _ visit: Visit) async throws -> Response {
        let query = request.uri.queryParameters
        func text(_ name: String) -> String? { query.get(name).flatMap { $0.isEmpty ? nil : $0 } }
        var before: Int64?
        if let value = text("before") {
            guard let id = Int64(value) else { throw PageError(status: .badRequest, message: "That is not a page of the audit log.", back: "/admin/audit") }
            before = id
        }
        let filter = AuditFilter(action: text("action"), uid: text("uid"), actor: text("actor"), beforeID: before)
        let entries = try await console.audit(filter, limit: Self.auditPageSize)
        return pages.render("audit", title: "Audit log", view: AuditView(filter: filter, entries: entries, pageSize: Self.auditPageSize), session: visit.session)
    }
}

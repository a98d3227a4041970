import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import GigyaKit
import VaultCore
import VaultStore

extension AdminController {
    // MARK: Signing in and out

    func signInPage(_ request: Request, _ visit: Visit) async throws -> Response {
        if visit.session != nil { return Self.redirect("/admin") }
        return render("sign-in", title: "Sign in", visit: nil, data: ["minutes": vault.settings.admin.sessionMinutes])
    }

    func signIn(_ request: Request, _ visit: Visit) async throws -> Response {
        let minutes = vault.settings.admin.sessionMinutes
        // Throttled before the key is looked at, so guessing is slow whatever the guesses are.
        if let wait = signIns.admit(peer: visit.peer) {
            try await refuseSignIn(visit, reason: "rate_limited", key: nil)
            let seconds = wait.components.seconds
            return render(
                "sign-in", title: "Sign in", visit: nil,
                data: ["minutes": minutes, "error": "Too many sign-in attempts. Try again in \(seconds) s."],
                status: .tooManyRequests, headers: [.retryAfter: String(seconds)])
        }
        let presented = (visit.form["key"] ?? "").trimmingCharacters(in: .whitespaces)
        let record = presented.isEmpty ? nil : try await vault.boundedStore.authenticate(presented)
        guard let record, record.scopes.contains(AccessScope.admin.rawValue) else {
            try await refuseSignIn(visit, reason: "not_admin", key: record)
            return render(
                "sign-in", title: "Sign in", visit: nil,
                data: ["minutes": minutes, "error": "That is not a live access key with the admin scope."],
                status: .unauthorized)
        }
        // The page shows and changes every site; a key bound to some sites is for the API, not for it.
        guard record.sites == .all else {
            try await refuseSignIn(visit, reason: "not_all_sites", key: record)
            return render(
                "sign-in", title: "Sign in", visit: nil,
                data: ["minutes": minutes, "error": "The admin page needs an admin key granted every site (keys create --all-sites)."],
                status: .forbidden)
        }
        let token = Self.randomToken()
        try await vault.store.createAdminSession(
            tokenHash: Array(SHA256.hash(data: Data(token.utf8))), csrfToken: Self.randomToken(), keyID: record.id, keyName: record.name,
            expiresAt: Date().addingTimeInterval(Double(minutes * 60)))
        try await vault.store.record(AuditEntry(actorKeyID: record.id, actorName: "admin:\(record.name)", action: "admin.sign_in", site: "*"))
        var response = Self.redirect("/admin")
        response.setCookie(Self.sessionCookie(token, seconds: minutes * 60, secure: visit.secure))
        return response
    }

    /// Counts a refused sign-in, and audits refusals in aggregate: at most one row per peer per minute, with the count
    /// since the last one (a flood of guesses writes a row a minute, not a row a guess).
    func refuseSignIn(_ visit: Visit, reason: String, key: AccessKeyRecord?) async throws {
        vault.metrics.adminSignInRefused(reason: reason)
        logger.notice("admin sign-in refused", metadata: ["reason": "\(reason)"])
        guard let count = signIns.noteRefusal(peer: visit.peer) else { return }
        try await vault.store.record(AuditEntry(
            actorKeyID: key?.id, actorName: key.map { "key:\($0.name)" } ?? "anonymous", action: "admin.sign_in_refused", site: "*",
            detail: "refused=\(count) peer=\(visit.peer) last=\(reason)"))
    }

    func signOut(_ request: Request, _ visit: Visit) async throws -> Response {
        if let hash = visit.tokenHash { try await vault.store.deleteAdminSession(tokenHash: hash) }
        if let session = visit.session {
            try await vault.store.record(AuditEntry(actorKeyID: session.keyID, actorName: "admin:\(session.keyName)", action: "admin.sign_out", site: "*"))
        }
        var response = Self.redirect("/admin/sign-in")
        response.setCookie(Self.sessionCookie("", seconds: 0, secure: visit.secure))
        return response
    }

    // MARK: Overview

    func overview(_ request: Request, _ visit: Visit) async throws -> Response {
        let store = vault.store
        let stats = try await store.stats()
        let failedByCode = try await store.failedEventCounts()
        let expiry = try await store.tokensByExpiry()
        let links = try await store.linkCounts()
        let accountEvents = try await store.accountEventCounts()
        let lastRun = try await store.latestRun(site: nil)
        let providers = Array(Set(expiry.map(\.provider))).sorted()
        var data: [String: Any] = [
            "intake": [
                "pending": stats.pending, "processing": stats.processing, "failed": stats.failed,
                "oldest": stats.oldestPendingAge.map { "\(Int($0)) s" } ?? "none pending",
            ],
            "failedByCode": failedByCode.map { ["code": $0.code.map { String($0) } ?? "no code", "count": $0.count] as [String: Any] },
            "has_failedByCode": !failedByCode.isEmpty,
            "buckets": TokenExpiryCount.buckets.map { $0.replacingOccurrences(of: "_", with: " ") },
            "expiry": providers.map { provider in
                [
                    "provider": provider,
                    "counts": TokenExpiryCount.buckets.map { bucket in expiry.first { $0.provider == provider && $0.bucket == bucket }?.count ?? 0 },
                ] as [String: Any]
            },
            "has_expiry": !providers.isEmpty,
            "links": LinkStatus.allCases.map { ["status": $0.rawValue, "count": links[$0] ?? 0] as [String: Any] },
            "accountEvents": AccountEventStatus.allCases.map { ["status": $0.rawValue, "count": accountEvents[$0] ?? 0] as [String: Any] },
        ]
        if let lastRun { data["lastRun"] = runSummary(lastRun) }
        return render("overview", title: "Overview", visit: visit, data: data)
    }

    func runSummary(_ run: ReconciliationRun) -> [String: Any] {
        var summary: [String: Any] = [
            "id": run.id.uuidString.lowercased(), "mode": run.mode == .repair ? "Repair" : "Dry run", "site": run.site, "status": run.status.rawValue,
            "startedAt": Self.time(run.startedAt), "startedBy": run.startedBy, "checked": run.checked, "total": run.total,
            "counts": ReconciliationCategory.allCases.map { ["category": $0.rawValue, "count": run.counts[$0.rawValue] ?? 0, "site": run.site] as [String: Any] },
            "inProgress": run.status == .running,
        ]
        // Absent rather than empty: a Mustache section renders for any string, the empty one included.
        if let finishedAt = run.finishedAt { summary["finishedAt"] = Self.time(finishedAt) }
        if let error = run.error, run.status != .completed { summary["error"] = error }
        return summary
    }

    // MARK: A user

    func userPage(_ request: Request, _ visit: Visit) async throws -> Response {
        let site = try self.site(request, visit)
        var data = siteChoices(selected: site.apiKey)
        guard let query = request.uri.queryParameters.get("q"), !query.isEmpty else {
            return render("user", title: "Users", visit: visit, data: data)
        }
        do {
            try LoginIntake.validateUID(query)
        } catch {
            throw PageError(status: .badRequest, message: "That is not a UID: \(error)", back: "/admin/users")
        }
        let store = vault.store
        let sessions = try await store.metadata(site: site.apiKey, uid: query)
        let links = try await store.links(site: site.apiKey, uid: query)
        let events = try await store.recentEvents(site: site.apiKey, uid: query, limit: 20)
        let accountEvents = try await store.accountEvents(site: site.apiKey, uid: query, limit: 20)
        let audit = try await store.audit(AuditFilter(site: site.apiKey, uid: query), limit: 50)
        let uidParam = Self.queryEscaped(query)
        data["query"] = query
        data["found"] = true
        data["uid"] = query
        data["uidParam"] = uidParam
        data["site"] = site.apiKey
        data["sessions"] = sessions.map { (row) -> [String: Any] in
            let dictionary: [String: Any] = [
                "provider": row.provider, "providerUID": row.providerUID ?? "", "tokenExpiration": row.tokenExpiration ?? "",
                "sessionExpiration": row.sessionExpiration ?? "", "fetchedAt": Self.time(row.fetchedAt), "keyID": row.keyID, "site": site.apiKey,
                "uidParam": uidParam,
            ]
            return dictionary
        }
        data["has_sessions"] = !sessions.isEmpty
        data["links"] = links.map { (row) -> [String: Any] in
            let dictionary: [String: Any] = [
                "uid": row.uid, "siteUID": row.siteUID, "via": row.via.rawValue, "status": row.status.rawValue, "attempts": row.attempts,
                "code": row.lastErrorCode.map { String($0) } ?? "", "linkedAt": Self.time(row.linkedAt),
            ]
            return dictionary
        }
        data["has_links"] = !links.isEmpty
        data["events"] = events.map { (row) -> [String: Any] in
            let dictionary: [String: Any] = [
                "id": row.id.uuidString.lowercased(), "provider": row.provider, "status": row.status.rawValue, "attempts": row.attempts,
                "code": row.lastErrorCode.map { String($0) } ?? "", "createdAt": Self.time(row.createdAt),
            ]
            return dictionary
        }
        data["has_events"] = !events.isEmpty
        data["accountEvents"] = accountEvents.map { (row) -> [String: Any] in
            let dictionary: [String: Any] = [
                "type": row.type.rawValue, "uid": row.uid, "newUID": row.newUID ?? "", "status": row.status.rawValue, "outcome": row.outcome ?? "",
                "receivedAt": Self.time(row.receivedAt),
            ]
            return dictionary
        }
        data["has_accountEvents"] = !accountEvents.isEmpty
        data["audit"] = audit.map(Self.auditRow)
        data["has_audit"] = !audit.isEmpty
        return render("user", title: "User \(query)", visit: visit, data: data, notice: Self.notice(request))
    }

    static func auditRow(_ record: AuditRecord) -> [String: Any] {
        [
            "at": time(record.at), "actor": record.actorName, "action": record.action, "site": record.site, "uid": record.uid ?? "",
            "provider": record.provider ?? "", "detail": record.detail ?? "",
        ]
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

    func confirmDelete(_ request: Request, _ visit: Visit) async throws -> Response {
        let (site, uid, _) = try target(request, visit, provider: false)
        let sessions = try await vault.store.metadata(site: site.apiKey, uid: uid)
        return render("confirm", title: "Delete every session of \(uid)?", visit: visit, data: [
            "question": "This deletes what session-vault stores for this user on site \(site.apiKey); Gigya keeps its own account.",
            "changes": sessions.map { "the \($0.provider) session (fetched \(Self.time($0.fetchedAt)))" }
                + ["every pending login event of the user is cancelled, and a fetch already under way cannot write back"],
            "has_changes": true, "action": "/admin/users/delete",
            "fields": [["name": "site", "value": site.apiKey], ["name": "uid", "value": uid]],
            "button": "Delete every session", "cancel": "/admin/users?q=\(Self.queryEscaped(uid))&site=\(site.apiKey)",
        ])
    }

    func deleteUser(_ request: Request, _ visit: Visit) async throws -> Response {
        let (site, uid, _) = try target(request, visit, provider: false)
        _ = try await vault.sessions.delete(site: site.apiKey, uid: uid, provider: nil, actor: actor(visit))
        return Self.redirect("/admin/users?q=\(Self.queryEscaped(uid))&site=\(site.apiKey)&done=deleted")
    }

    func confirmRefresh(_ request: Request, _ visit: Visit) async throws -> Response {
        let (site, uid, provider) = try target(request, visit, provider: true)
        return render("confirm", title: "Refresh the \(provider!) session of \(uid)?", visit: visit, data: [
            "question": "session-vault asks Gigya for this session now and stores what Gigya answers.",
            "has_changes": false, "changes": [String](), "action": "/admin/users/refresh",
            "fields": [["name": "site", "value": site.apiKey], ["name": "uid", "value": uid], ["name": "provider", "value": provider!]],
            "button": "Refresh from Gigya", "cancel": "/admin/users?q=\(Self.queryEscaped(uid))&site=\(site.apiKey)",
        ])
    }

    func refresh(_ request: Request, _ visit: Visit) async throws -> Response {
        let (site, uid, provider) = try target(request, visit, provider: true)
        do {
            _ = try await vault.sessions.refresh(site: site, uid: uid, provider: provider!, actor: actor(visit))
        } catch let error as SessionServiceError {
            let back = "/admin/users?q=\(Self.queryEscaped(uid))&site=\(site.apiKey)"
            throw PageError(status: APIError(error).status, message: "The refresh failed: \(APIError(error).message)", back: back)
        }
        return Self.redirect("/admin/users?q=\(Self.queryEscaped(uid))&site=\(site.apiKey)&done=refreshed")
    }

    // MARK: Failed events

    func failedEvents(_ request: Request, _ visit: Visit) async throws -> Response {
        var before: Date?
        if let text = request.uri.queryParameters.get("before") {
            guard let micros = Int64(text) else { throw PageError(status: .badRequest, message: "That is not a page of this list.", back: "/admin/events/failed") }
            before = Date(timeIntervalSince1970: Double(micros) / 1_000_000)
        }
        let events = try await vault.store.failedEvents(limit: 50, before: before)
        let rows = events.map { (row) -> [String: Any] in
            let dictionary: [String: Any] = [
                "id": row.id.uuidString.lowercased(), "site": row.site, "uid": row.uid, "uidParam": Self.queryEscaped(row.uid), "provider": row.provider,
                "attempts": row.attempts, "code": row.lastErrorCode.map { String($0) } ?? "", "message": row.lastErrorMessage ?? "",
                "updatedAt": Self.time(row.updatedAt), "csrf": visit.session?.csrfToken ?? "",
            ]
            return dictionary
        }
        var data: [String: Any] = ["events": rows, "has_events": !rows.isEmpty]
        if events.count == 50, let last = events.last { data["older"] = String(Int64(last.updatedAt.timeIntervalSince1970 * 1_000_000)) }
        return render("failed", title: "Failed events", visit: visit, data: data, notice: Self.notice(request))
    }

    func requeue(_ request: Request, _ visit: Visit) async throws -> Response {
        guard let id = visit.form["id"].flatMap(UUID.init(uuidString:)) else {
            throw PageError(status: .badRequest, message: "That is not an event id.", back: "/admin/events/failed")
        }
        let entry = AuditEntry(actorKeyID: visit.session?.keyID, actorName: actor(visit).name, action: "event.requeue", site: "")
        guard try await vault.store.requeueEvent(id: id, audit: entry) else {
            throw PageError(status: .conflict, message: "That event is no longer failed.", back: "/admin/events/failed")
        }
        return Self.redirect("/admin/events/failed?done=requeued")
    }

    // MARK: Reconciliation

    func reconciliation(_ request: Request, _ visit: Visit) async throws -> Response {
        let site = try self.site(request, visit)
        var data = siteChoices(selected: site.apiKey)
        data["site"] = site.apiKey
        var category: ReconciliationCategory?
        if let name = request.uri.queryParameters.get("category") {
            guard let parsed = ReconciliationCategory(rawValue: String(name)) else { throw PageError(status: .badRequest, message: "No such category.") }
            category = parsed
        }
        let running = jobs.isRunning(site: site.apiKey)
        data["running"] = running
        var refresh: Int?
        if let run = try await vault.store.latestRun(site: site.apiKey) {
            var summary = runSummary(run)
            let after = request.uri.queryParameters.get("after")
            let items = try await vault.store.items(runID: run.id, category: category, limit: 51, after: after)
            let page = Array(items.prefix(50))
            summary["items"] = page.map { (row) -> [String: Any] in
                let dictionary: [String: Any] = [
                    "category": row.category.rawValue, "uid": row.uid, "uidParam": Self.queryEscaped(row.uid), "siteUID": row.siteUID ?? "",
                    "gigyaUID": row.gigyaUID ?? "", "gigyaCode": row.gigyaCode.map { String($0) } ?? "", "detail": row.detail, "action": row.action ?? "",
                    "site": site.apiKey,
                ]
                return dictionary
            }
            summary["has_items"] = !page.isEmpty
            summary["site"] = site.apiKey
            if let category { summary["category"] = category.rawValue }
            if items.count > 50, let last = page.last { summary["next"] = Self.queryEscaped(last.key) }
            data["run"] = summary
            if run.status == .running || running { refresh = 2 }
        } else if running {
            refresh = 2
        }
        return render("reconciliation", title: "Reconciliation", visit: visit, data: data, refresh: refresh, notice: Self.notice(request))
    }

    func confirmRepair(_ request: Request, _ visit: Visit) async throws -> Response {
        let site = try self.site(request, visit)
        let last = try await vault.store.latestRun(site: site.apiKey)
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
        let question = last.map { "The last run of site \(site.apiKey) (\($0.mode == .repair ? "a repair" : "a dry run"), \(Self.time($0.startedAt))) found what follows; the repair checks again and fixes what it finds then. Every change is audited." }
            ?? "No run of site \(site.apiKey) yet: the repair checks everything and fixes what it finds. Every change is audited."
        return render("confirm", title: "Repair site \(site.apiKey)?", visit: visit, data: [
            "question": question, "changes": changes, "has_changes": !changes.isEmpty, "action": "/admin/reconciliation/run",
            "fields": [["name": "site", "value": site.apiKey], ["name": "mode", "value": "repair"]],
            "purgeOption": true, "orphans": orphans, "button": "Run the repair", "cancel": "/admin/reconciliation?site=\(site.apiKey)",
        ])
    }

    func runReconciliation(_ request: Request, _ visit: Visit) async throws -> Response {
        let site = try self.site(request, visit)
        guard let mode = visit.form["mode"].flatMap(ReconciliationMode.init(rawValue:)) else {
            throw PageError(status: .badRequest, message: "Choose a dry run or a repair.", back: "/admin/reconciliation")
        }
        let purge = mode == .repair && visit.form["purgeOrphans"] == "yes"
        let started = jobs.start(ReconcileRequest(site: site, mode: mode, purgeOrphans: purge, startedBy: actor(visit).name))
        return Self.redirect("/admin/reconciliation?site=\(site.apiKey)&done=\(started ? "started" : "busy")")
    }

    // MARK: Audit log

    func audit(_ request: Request, _ visit: Visit) async throws -> Response {
        let query = request.uri.queryParameters
        func text(_ name: String) -> String? { query.get(name).flatMap { $0.isEmpty ? nil : $0 } }
        var before: Int64?
        if let value = text("before") {
            guard let id = Int64(value) else { throw PageError(status: .badRequest, message: "That is not a page of the audit log.", back: "/admin/audit") }
            before = id
        }
        let filter = AuditFilter(action: text("action"), uid: text("uid"), actor: text("actor"), beforeID: before)
        let entries = try await vault.store.audit(filter, limit: 100)
        var data: [String: Any] = [
            "filter": ["action": filter.action ?? "", "uid": filter.uid ?? "", "actor": filter.actor ?? ""],
            "entries": entries.map(Self.auditRow), "has_entries": !entries.isEmpty,
        ]
        if entries.count == 100, let last = entries.last { data["older"] = String(last.id) }
        return render("audit", title: "Audit log", visit: visit, data: data)
    }
}

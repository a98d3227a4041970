import Foundation
import GigyaKit
import VaultCore
import VaultStore

// The admin page's view models: what each template shows, already formatted (times, codes, escaped query values), so a
// template only places text. Mustache reads their stored properties; an absent optional leaves its section out (an
// empty string would render it), and a row's name never repeats one of the page's, since Mustache looks names up the
// section stack.

/// The frame around every page.
struct LayoutView {
    let title: String
    let body: String
    let signedIn: Bool
    let csrf: String?
    let keyName: String?
    let refresh: String?
    let notice: String?
}

struct SignInView {
    let minutes: Int
    var error: String?
}

struct ErrorView {
    let message: String
    let back: String
}

/// The site selector of pages about one site.
struct SiteChoices {
    struct Choice {
        let apiKey: String
        let selected: Bool
    }

    let multiSite: Bool
    let sites: [Choice]

    init(apiKeys: [String], selected: String) {
        multiSite = apiKeys.count > 1
        sites = apiKeys.map { Choice(apiKey: $0, selected: $0 == selected) }
    }
}

struct StatusCount {
    let status: String
    let count: Int
}

struct OverviewView {
    struct Intake {
        let pending: Int
        let processing: Int
        let failed: Int
        let oldest: String
    }

    struct CodeCount {
        let code: String
        let count: Int
    }

    struct ExpiryRow {
        let provider: String
        let counts: [Int]
    }

    let intake: Intake
    let failedByCode: [CodeCount]
    let hasFailedByCode: Bool
    let buckets: [String]
    let expiry: [ExpiryRow]
    let hasExpiry: Bool
    let links: [StatusCount]
    let accountEvents: [StatusCount]
    let lastRun: RunView?

    init(_ overview: AdminConsole.Overview) {
        let stats = overview.intake
        intake = Intake(
            pending: stats.pending, processing: stats.processing, failed: stats.failed,
            oldest: stats.oldestPendingAge.map { "\(Int($0)) s" } ?? "none pending")
        failedByCode = overview.failedByCode.map { CodeCount(code: $0.code.map { String($0) } ?? "no code", count: $0.count) }
        hasFailedByCode = !failedByCode.isEmpty
        buckets = TokenExpiryCount.buckets.map { $0.replacingOccurrences(of: "_", with: " ") }
        let providers = Set(overview.tokensByExpiry.map(\.provider)).sorted()
        expiry = providers.map { provider in
            ExpiryRow(provider: provider, counts: TokenExpiryCount.buckets.map { bucket in
                overview.tokensByExpiry.first { $0.provider == provider && $0.bucket == bucket }?.count ?? 0
            })
        }
        hasExpiry = !providers.isEmpty
        links = LinkStatus.allCases.map { StatusCount(status: $0.rawValue, count: overview.links[$0] ?? 0) }
        accountEvents = AccountEventStatus.allCases.map { StatusCount(status: $0.rawValue, count: overview.accountEvents[$0] ?? 0) }
        lastRun = overview.lastRun.map(RunView.init)
    }
}

/// A reconciliation run's summary.
struct RunView {
    struct CategoryCount {
        let category: String
        let count: Int
        let site: String
    }

    let id: String
    let mode: String
    let site: String
    let status: String
    let startedAt: String
    let startedBy: String
    let checked: Int
    let total: Int
    let counts: [CategoryCount]
    let inProgress: Bool
    let finishedAt: String?
    let error: String?

    init(_ run: ReconciliationRun) {
        id = run.id.uuidString.lowercased()
        mode = run.mode == .repair ? "Repair" : "Dry run"
        site = run.site
        status = run.status.rawValue
        startedAt = AdminFormat.time(run.startedAt)
        startedBy = run.startedBy
        checked = run.checked
        total = run.total
        counts = ReconciliationCategory.allCases.map { CategoryCount(category: $0.rawValue, count: run.counts[$0.rawValue] ?? 0, site: run.site) }
        inProgress = run.status == .running
        finishedAt = run.finishedAt.map(AdminFormat.time)
        error = run.status == .completed ? nil : run.error
    }
}

struct AuditRow {
    let at: String
    let actor: String
    let action: String
    let site: String
    let uid: String
    let provider: String
    let detail: String

    init(_ record: AuditRecord) {
        at = AdminFormat.time(record.at)
        actor = record.actorName
        action = record.action
        site = record.site
        uid = record.uid ?? ""
        provider = record.provider ?? ""
        detail = record.detail ?? ""
    }
}

struct UserView {
    struct Found {
        let uid: String
        let uidParam: String
        let site: String
        let sessions: [SessionRow]
        let hasSessions: Bool
        let links: [LinkRow]
        let hasLinks: Bool
        let events: [EventRow]
        let hasEvents: Bool
        let accountEvents: [AccountEventRow]
        let hasAccountEvents: Bool
        let audit: [AuditRow]
        let hasAudit: Bool
    }

    struct SessionRow {
        let provider: String
        let providerUID: String
        let tokenExpiration: String
        let sessionExpiration: String
        let fetchedAt: String
        let keyID: String
    }

    struct LinkRow {
        let uid: String
        let siteUID: String
        let via: String
        let status: String
        let attempts: Int
        let code: String
        let linkedAt: String
    }

    struct EventRow {
        let id: String
        let provider: String
        let status: String
        let attempts: Int
        let code: String
        let createdAt: String
    }

    struct AccountEventRow {
        let type: String
        let uid: String
        let newUID: String
        let status: String
        let outcome: String
        let receivedAt: String
    }

    let query: String
    let choices: SiteChoices
    let found: Found?

    init(query: String, choices: SiteChoices, site: String, record: AdminConsole.UserRecord?) {
        self.query = query
        self.choices = choices
        found = record.map { record in
            let sessions = record.sessions.map {
                SessionRow(
                    provider: $0.provider, providerUID: $0.providerUID ?? "", tokenExpiration: $0.tokenExpiration ?? "",
                    sessionExpiration: $0.sessionExpiration ?? "", fetchedAt: AdminFormat.time($0.fetchedAt), keyID: $0.keyID)
            }
            let links = record.links.map {
                LinkRow(
                    uid: $0.uid, siteUID: $0.siteUID, via: $0.via.rawValue, status: $0.status.rawValue, attempts: $0.attempts,
                    code: $0.lastErrorCode.map { String($0) } ?? "", linkedAt: AdminFormat.time($0.linkedAt))
            }
            let events = record.loginEvents.map {
                EventRow(
                    id: $0.id.uuidString.lowercased(), provider: $0.provider, status: $0.status.rawValue, attempts: $0.attempts,
                    code: $0.lastErrorCode.map { String($0) } ?? "", createdAt: AdminFormat.time($0.createdAt))
            }
            let accountEvents = record.accountEvents.map {
                AccountEventRow(
                    type: $0.type.rawValue, uid: $0.uid, newUID: $0.newUID ?? "", status: $0.status.rawValue, outcome: $0.outcome ?? "",
                    receivedAt: AdminFormat.time($0.receivedAt))
            }
            let audit = record.audit.map(AuditRow.init)
            return Found(
                uid: query, uidParam: AdminFormat.queryEscaped(query), site: site, sessions: sessions, hasSessions: !sessions.isEmpty,
                links: links, hasLinks: !links.isEmpty, events: events, hasEvents: !events.isEmpty, accountEvents: accountEvents,
                hasAccountEvents: !accountEvents.isEmpty, audit: audit, hasAudit: !audit.isEmpty)
        }
    }
}

/// A question before a change, with the form that makes it.
struct ConfirmView {
    struct Field {
        let name: String
        let value: String
    }

    let question: String
    let changes: [String]
    let hasChanges: Bool
    let action: String
    let fields: [Field]
    let purgeOption: Bool
    let orphans: Int
    let button: String
    let cancel: String
    let csrf: String

    init(
        question: String, changes: [String], action: String, fields: [(String, String)], purgeOption: Bool = false, orphans: Int = 0,
        button: String, cancel: String, csrf: String
    ) {
        self.question = question
        self.changes = changes
        hasChanges = !changes.isEmpty
        self.action = action
        self.fields = fields.map { Field(name: $0.0, value: $0.1) }
        self.purgeOption = purgeOption
        self.orphans = orphans
        self.button = button
        self.cancel = cancel
        self.csrf = csrf
    }
}

struct FailedEventsView {
    struct Row {
        let id: String
        let site: String
        let uid: String
        let uidParam: String
        let provider: String
        let attempts: Int
        let code: String
        let message: String
        let updatedAt: String
    }

    let events: [Row]
    let hasEvents: Bool
    /// The cursor of the next page (microseconds since 1970 of the last row's failure).
    let older: String?
    let csrf: String

    init(_ events: [LoginEvent], pageSize: Int, csrf: String) {
        self.events = events.map {
            Row(
                id: $0.id.uuidString.lowercased(), site: $0.site, uid: $0.uid, uidParam: AdminFormat.queryEscaped($0.uid), provider: $0.provider,
                attempts: $0.attempts, code: $0.lastErrorCode.map { String($0) } ?? "", message: $0.lastErrorMessage ?? "",
                updatedAt: AdminFormat.time($0.updatedAt))
        }
        hasEvents = !events.isEmpty
        older = events.count == pageSize ? events.last.map { String(Int64($0.updatedAt.timeIntervalSince1970 * 1_000_000)) } : nil
        self.csrf = csrf
    }
}

struct ReconciliationView {
    struct Run {
        let summary: RunView
        let items: [Item]
        let hasItems: Bool
        let site: String
        let category: String?
        let next: String?
    }

    struct Item {
        let category: String
        let uid: String
        let uidParam: String
        let siteUID: String
        let gigyaUID: String
        let gigyaCode: String
        let detail: String
        let action: String
        let site: String
    }

    let choices: SiteChoices
    let site: String
    let running: Bool
    let run: Run?
    let csrf: String

    init(choices: SiteChoices, site: String, running: Bool, findings: AdminConsole.Findings?, category: ReconciliationCategory?, csrf: String) {
        self.choices = choices
        self.site = site
        self.running = running
        self.csrf = csrf
        run = findings.map { findings in
            let items = findings.items.map {
                Item(
                    category: $0.category.rawValue, uid: $0.uid, uidParam: AdminFormat.queryEscaped($0.uid), siteUID: $0.siteUID ?? "",
                    gigyaUID: $0.gigyaUID ?? "", gigyaCode: $0.gigyaCode.map { String($0) } ?? "", detail: $0.detail, action: $0.action ?? "",
                    site: site)
            }
            return Run(
                summary: RunView(findings.run), items: items, hasItems: !items.isEmpty, site: site, category: category?.rawValue,
                next: findings.next.map(AdminFormat.queryEscaped))
        }
    }
}

struct AuditView {
    struct Filter {
        let action: String
        let uid: String
        let actor: String
    }

    let filter: Filter
    let entries: [AuditRow]
    let hasEntries: Bool
    /// The id to page from (older entries).
    let older: String?

    init(filter: AuditFilter, entries: [AuditRecord], pageSize: Int) {
        self.filter = Filter(action: filter.action ?? "", uid: filter.uid ?? "", actor: filter.actor ?? "")
        self.entries = entries.map(AuditRow.init)
        hasEntries = !entries.isEmpty
        older = entries.count == pageSize ? entries.last.map { String($0.id) } : nil
    }
}

/// How the page writes times and query values.
enum AdminFormat {
    static func time(_ date: Date?) -> String {
        guard let date else { return "" }
        return date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false).timeSeparator(.colon))
    }

    static func queryEscaped(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
    }
}

import Foundation
import GigyaEmulator
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing
import VaultCore
import VaultDevelopment
import VaultServer
import VaultStore
import VaultTesting

/// The admin page in a real headless Chromium (WebDriver): sign-in, the overview, a dry run, a repair after its
/// confirmation, a user page and sign-out, over a seeded population. A screenshot of each page is kept under
/// `.build/test-artifacts/admin/`. Chromium and chromedriver must be installed (`.ci/run` installs them).
@Suite("Admin page in a browser", .serialized)
struct AdminBrowserTests {
    static let artifacts = ".build/test-artifacts/admin"

    /// Every token stored, to prove that no page shows one.
    static func storedTokens(_ harness: VaultHarness) async throws -> [String] {
        var tokens: [String] = []
        let rows = try await harness.database.client.query("SELECT site, uid, provider FROM provider_sessions", logger: harness.logger)
        for try await (site, uid, provider) in rows.decode((String, String, String).self) {
            if let session = try await harness.store.session(site: site, uid: uid, provider: provider) {
                tokens += [session.authToken, session.tokenSecret, session.sessionHandle].compactMap { $0 }
            }
        }
        return tokens
    }

    @Test("sign in, the overview, a dry run, a repair, a user page and sign-out, in headless Chromium")
    func adminJourney() async throws {
        try await VaultHarness.with { harness in
            let seeded = try await ReconciliationPopulation.seed(
                vault: harness.vault, site: harness.site.apiKey, emulator: harness.emulatorControl, tag: "browser")
            let admin = try await harness.accessKey([.admin], name: "browser-admin")
            let tokensBefore = try await Self.storedTokens(harness)
            #expect(!tokensBefore.isEmpty)
            try await harness.application().test(.live) { client in
                let base = "http://127.0.0.1:\(try #require(client.port))"
                let browser = try await Browser.start(artifacts: Self.artifacts)
                var pages: [String] = []
                do {
                    // Sign-in, by keyboard: the key field has focus, Enter submits.
                    try await browser.open("\(base)/admin")
                    try await browser.waitForURL { $0.hasSuffix("/admin/sign-in") }
                    #expect(try await browser.activeElementID() == "key")
                    try await browser.screenshot("01-sign-in")
                    try await browser.type("svk_wrong_key", into: "#key")
                    try await browser.pressKeys("\u{E007}")
                    pages.append(try await browser.waitFor { $0.contains("not a live access key") })
                    try await browser.type(admin, into: "#key")
                    try await browser.click("#sign-in")
                    try await browser.waitForURL { $0.hasSuffix("/admin") }
                    let cookie = try #require(try await browser.cookies().first { $0["name"] as? String == "sv_admin" })
                    #expect(cookie["httpOnly"] as? Bool == true)
                    #expect(cookie["sameSite"] as? String == "Strict")
                    pages.append(try await browser.source())
                    #expect(pages.last!.contains("Stored tokens by expiry"))
                    try await browser.screenshot("02-overview")

                    // A dry run: every category found, nothing changed.
                    try await browser.open("\(base)/admin/reconciliation")
                    try await browser.click("#dry-run")
                    var page = try await browser.waitFor { $0.contains("Status: <strong>completed</strong>") }
                    pages.append(page)
                    for (category, count) in seeded.counts {
                        #expect(page.contains("class=\"count-\(category.rawValue)\">\(count)<"), "\(category)")
                    }
                    try await browser.screenshot("03-dry-run")
                    #expect(try await harness.store.link(site: harness.site.apiKey, siteUID: "pending-browser-0")?.status == .pending)

                    // A repair, after a confirmation that says what will change.
                    try await browser.click("#repair")
                    try await browser.waitForURL { $0.contains("/admin/reconciliation/repair") }
                    page = try await browser.source()
                    pages.append(page)
                    #expect(page.contains("pending or failed link(s) are sent to Gigya again"))
                    try await browser.screenshot("04-confirm-repair")
                    try await browser.click("#purge-orphans")
                    try await browser.click("#confirm")
                    page = try await browser.waitFor { $0.contains("Repair ") && $0.contains("Status: <strong>completed</strong>") }
                    pages.append(page)
                    try await browser.screenshot("05-repair")

                    // The repair fixed what it reported: a second dry run finds nothing left to repair.
                    try await browser.click("#dry-run")
                    page = try await browser.waitFor { $0.contains("Dry run ") && $0.contains("Status: <strong>completed</strong>") }
                    pages.append(page)
                    for category in ReconciliationCategory.allCases where category.isRepairable {
                        #expect(page.contains("class=\"count-\(category.rawValue)\">0<"), "\(category)")
                    }
                    try await browser.screenshot("06-second-dry-run")

                    // A user page.
                    let unlinked = try #require(seeded.expected[.unlinked]?.first)
                    try await browser.open("\(base)/admin")
                    try await browser.type(unlinked, into: "#q")
                    try await browser.pressKeys("\u{E007}")
                    try await browser.waitForURL { $0.contains("/admin/users?q=") }
                    page = try await browser.source()
                    pages.append(page)
                    #expect(page.contains("Stored sessions of \(unlinked)"))
                    try await browser.screenshot("07-user")

                    // Sign-out: the session is gone.
                    try await browser.click("#sign-out")
                    try await browser.waitForURL { $0.hasSuffix("/admin/sign-in") }
                    try await browser.screenshot("08-signed-out")
                    try await browser.open("\(base)/admin/audit")
                    try await browser.waitForURL { $0.hasSuffix("/admin/sign-in") }
                } catch {
                    try? await browser.screenshot("failure")
                    await browser.close()
                    throw error
                }
                await browser.close()
                let tokens = tokensBefore + (try await Self.storedTokens(harness))
                for page in pages {
                    for token in tokens { #expect(!page.contains(token), "a page shows a stored token") }
                }
            }
        }
    }
}

import Foundation
import VaultStore

/// Renders reconciliation runs as a table for people, or JSON or CSV for scripts.
struct ReconciliationReportFormatter {
    let format: ReportFormat

    func render(_ reports: [(ReconciliationRun, [ReconciliationItem])], database: String) -> String {
        switch format {
        case .table: table(reports, database: database)
        case .json: json(reports)
        case .csv: csv(reports)
        }
    }

    private func table(_ reports: [(ReconciliationRun, [ReconciliationItem])], database: String) -> String {
        var lines: [String] = []
        for (run, items) in reports {
            lines.append("reconciliation \(run.id.uuidString.lowercased()) of site \(run.site) (\(run.mode.rawValue)\(run.purgeOrphans ? ", purging orphans" : "")) on \(database): \(run.status.rawValue)")
            let counts = ReconciliationCategory.allCases.map { category in "\(category.rawValue) \(items.filter { $0.category == category }.count)" }
            lines.append("  " + counts.joined(separator: "  "))
            let notable = items.filter { $0.category != .ok }
            if !notable.isEmpty {
                lines.append("")
                lines.append(row(["CATEGORY", "UID", "SITE UID", "GIGYA", "CODE", "DETAIL", "ACTION"]))
                for item in notable.sorted(by: { ($0.category, $0.key) < ($1.category, $1.key) }) {
                    lines.append(row([
                        item.category.rawValue, item.uid, item.siteUID ?? "-", item.gigyaUID ?? "-", item.gigyaCode.map(String.init) ?? "-", item.detail,
                        item.action ?? "-",
                    ]))
                }
            }
            let repairable = items.filter { $0.category.isRepairable && $0.action == nil }.count
            if run.mode == .dryRun && repairable > 0 {
                lines.append("")
                lines.append("  \(repairable) finding(s) can be repaired: run again with --repair (orphans also need --purge-orphans)")
            }
        }
        return lines.joined(separator: "\n")
    }

    private func row(_ cells: [String]) -> String {
        let widths = [9, 34, 24, 34, 7, 0, 0]
        return zip(cells, widths).map { cell, width in width == 0 ? cell : cell.padding(toLength: max(width, cell.count), withPad: " ", startingAt: 0) }
            .joined(separator: " ")
    }

    private struct JSONReport: Encodable {
        let run: ReconciliationRun
        let items: [ReconciliationItem]
    }

    private func json(_ reports: [(ReconciliationRun, [ReconciliationItem])]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.dateEncodingStrategy = .iso8601
        let data = (try? encoder.encode(reports.map { JSONReport(run: $0.0, items: $0.1) })) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    private func csv(_ reports: [(ReconciliationRun, [ReconciliationItem])]) -> String {
        var lines = ["run,site,category,key,uid,site_uid,gigya_uid,gigya_code,detail,action"]
        for (run, items) in reports {
            for item in items {
                lines.append(
                    [run.id.uuidString.lowercased(), run.site, item.category.rawValue, item.key, item.uid, item.siteUID ?? "", item.gigyaUID ?? "",
                     item.gigyaCode.map(String.init) ?? "", item.detail, item.action ?? ""].map(Self.field).joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// RFC 4180 quoting; a leading `=`, `+`, `-` or `@` is prefixed with `'` so a spreadsheet does not run it as a formula.
    static func field(_ value: String) -> String {
        var value = value
        if let first = value.first, "=+-@".contains(first) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

import Mustache

/// The admin page's templates (Mustache: `{{x}}` is HTML-escaped, `{{{x}}}` only for HTML rendered here). Kept in the
/// binary, so the page needs no build step and no files at run time; no template loads a script.
enum AdminTemplates {
    static func library() throws -> MustacheLibrary {
        var library = MustacheLibrary()
        for (name, text) in all { try library.register(text, named: name) }
        return library
    }

    static let all: [(String, String)] = [
        ("layout", layout), ("sign-in", signIn), ("overview", overview), ("user", user), ("confirm", confirm), ("failed", failed),
        ("reconciliation", reconciliation), ("audit", audit), ("error", error),
    ]

    static let layout = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        {{#refresh}}<meta http-equiv="refresh" content="{{refresh}}">{{/refresh}}
        <title>{{title}} · session-vault admin</title>
        <link rel="stylesheet" href="/admin/static/admin.css">
        </head>
        <body>
        <a class="skip" href="#main">Skip to content</a>
        <header>
        <span class="brand">session-vault admin</span>
        {{#signedIn}}
        <nav aria-label="Main">
        <a href="/admin">Overview</a>
        <a href="/admin/users">Users</a>
        <a href="/admin/events/failed">Failed events</a>
        <a href="/admin/reconciliation">Reconciliation</a>
        <a href="/admin/audit">Audit log</a>
        </nav>
        <form method="post" action="/admin/sign-out" class="inline">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <span class="who">signed in as {{keyName}}</span>
        <button type="submit" id="sign-out">Sign out</button>
        </form>
        {{/signedIn}}
        </header>
        <main id="main">
        <h1>{{title}}</h1>
        {{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
        {{{body}}}
        </main>
        </body>
        </html>
        """

    static let signIn = """
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        <form method="post" action="/admin/sign-in" class="stack">
        <label for="key">Admin access key</label>
        <input id="key" name="key" type="password" autocomplete="off" required autofocus>
        <button type="submit" id="sign-in">Sign in</button>
        </form>
        <p class="hint">An access key with the <code>admin</code> scope (<code>session-vault keys create --scopes admin</code>). The session lasts {{minutes}} minutes.</p>
        """

    static let overview = """
        <form method="get" action="/admin/users" class="inline" role="search">
        <label for="q">Find a user by UID or siteUID</label> <input id="q" name="q" required> <button type="submit">Find</button>
        </form>
        <section aria-labelledby="intake"><h2 id="intake">Intake</h2>
        <table><tr><th scope="row">Pending</th><td id="pending">{{intake.pending}}</td></tr>
        <tr><th scope="row">Processing</th><td>{{intake.processing}}</td></tr>
        <tr><th scope="row">Failed</th><td>{{intake.failed}}</td></tr>
        <tr><th scope="row">Oldest pending</th><td>{{intake.oldest}}</td></tr></table></section>
        <section aria-labelledby="failures"><h2 id="failures">Failed events by Gigya code</h2>
        {{#hasFailedByCode}}<table><tr><th>Code</th><th>Events</th></tr>{{#failedByCode}}<tr><td>{{code}}</td><td>{{count}}</td></tr>{{/failedByCode}}</table>{{/hasFailedByCode}}
        {{^failedByCode}}<p>No failed events.</p>{{/failedByCode}}
        <p><a href="/admin/events/failed">See the failed events</a></p></section>
        <section aria-labelledby="expiry"><h2 id="expiry">Stored tokens by expiry</h2>
        {{#hasExpiry}}<table><tr><th>Provider</th>{{#buckets}}<th>{{.}}</th>{{/buckets}}</tr>
        {{#expiry}}<tr><td>{{provider}}</td>{{#counts}}<td>{{.}}</td>{{/counts}}</tr>{{/expiry}}</table>{{/hasExpiry}}
        {{^expiry}}<p>No stored sessions.</p>{{/expiry}}</section>
        <section aria-labelledby="links"><h2 id="links">Links by status</h2>
        <table>{{#links}}<tr><th scope="row">{{status}}</th><td>{{count}}</td></tr>{{/links}}</table></section>
        <section aria-labelledby="events"><h2 id="events">Account events by status</h2>
        <table>{{#accountEvents}}<tr><th scope="row">{{status}}</th><td>{{count}}</td></tr>{{/accountEvents}}</table></section>
        <section aria-labelledby="reconciliation"><h2 id="reconciliation">Last reconciliation</h2>
        {{#lastRun}}<p id="last-run">{{mode}} of site {{site}}, {{status}}, started {{startedAt}} by {{startedBy}}: {{checked}} of {{total}} checked.</p>
        <table><tr>{{#counts}}<th>{{category}}</th>{{/counts}}</tr><tr>{{#counts}}<td>{{count}}</td>{{/counts}}</tr></table>{{/lastRun}}
        {{^lastRun}}<p>No reconciliation has run yet.</p>{{/lastRun}}
        <p><a href="/admin/reconciliation">Reconciliation</a></p></section>
        """

    static let user = """
        <form method="get" action="/admin/users" class="inline" role="search">
        <label for="q">UID or siteUID</label> <input id="q" name="q" value="{{query}}" required>
        {{#choices}}{{#multiSite}}<label for="site">Site</label> <select id="site" name="site">{{#sites}}<option value="{{apiKey}}"{{#selected}} selected{{/selected}}>{{apiKey}}</option>{{/sites}}</select>{{/multiSite}}{{/choices}}
        <button type="submit">Find</button>
        </form>
        {{#found}}
        <section aria-labelledby="sessions"><h2 id="sessions">Stored sessions of {{uid}}</h2>
        {{#hasSessions}}<table><tr><th>Provider</th><th>Provider UID</th><th>Token expiration</th><th>Session expiration</th><th>Fetched</th><th>Key</th><th></th></tr>
        {{#sessions}}<tr><td>{{provider}}</td><td>{{providerUID}}</td><td>{{tokenExpiration}}</td><td>{{sessionExpiration}}</td><td>{{fetchedAt}}</td><td>{{keyID}}</td>
        <td><a href="/admin/users/refresh?site={{site}}&amp;uid={{uidParam}}&amp;provider={{provider}}">Refresh…</a></td></tr>{{/sessions}}</table>
        <p><a href="/admin/users/delete?site={{site}}&amp;uid={{uidParam}}" id="delete-user">Delete every session…</a></p>{{/hasSessions}}
        {{^sessions}}<p>No session is stored under this UID.</p>{{/sessions}}</section>
        <section aria-labelledby="user-links"><h2 id="user-links">Links</h2>
        {{#hasLinks}}<table><tr><th>Gigya UID</th><th>siteUID</th><th>Via</th><th>Status</th><th>Attempts</th><th>Code</th><th>Linked</th></tr>
        {{#links}}<tr><td>{{uid}}</td><td>{{siteUID}}</td><td>{{via}}</td><td>{{status}}</td><td>{{attempts}}</td><td>{{code}}</td><td>{{linkedAt}}</td></tr>{{/links}}</table>{{/hasLinks}}
        {{^links}}<p>No link.</p>{{/links}}</section>
        <section aria-labelledby="user-events"><h2 id="user-events">Recent login events</h2>
        {{#hasEvents}}<table><tr><th>Event</th><th>Provider</th><th>Status</th><th>Attempts</th><th>Code</th><th>Created</th></tr>
        {{#events}}<tr><td>{{id}}</td><td>{{provider}}</td><td>{{status}}</td><td>{{attempts}}</td><td>{{code}}</td><td>{{createdAt}}</td></tr>{{/events}}</table>{{/hasEvents}}
        {{^events}}<p>No login event.</p>{{/events}}</section>
        <section aria-labelledby="user-account-events"><h2 id="user-account-events">Gigya account events</h2>
        {{#hasAccountEvents}}<table><tr><th>Type</th><th>UID</th><th>New UID</th><th>Status</th><th>Outcome</th><th>Received</th></tr>
        {{#accountEvents}}<tr><td>{{type}}</td><td>{{uid}}</td><td>{{newUID}}</td><td>{{status}}</td><td>{{outcome}}</td><td>{{receivedAt}}</td></tr>{{/accountEvents}}</table>{{/hasAccountEvents}}
        {{^accountEvents}}<p>No account event.</p>{{/accountEvents}}</section>
        <section aria-labelledby="user-audit"><h2 id="user-audit">Audit trail</h2>
        {{#hasAudit}}<table><tr><th>When</th><th>Who</th><th>Action</th><th>Provider</th><th>Detail</th></tr>
        {{#audit}}<tr><td>{{at}}</td><td>{{actor}}</td><td>{{action}}</td><td>{{provider}}</td><td>{{detail}}</td></tr>{{/audit}}</table>{{/hasAudit}}
        {{^audit}}<p>No audit entry.</p>{{/audit}}</section>
        {{/found}}
        """

    static let confirm = """
        <p>{{question}}</p>
        {{#hasChanges}}<ul>{{#changes}}<li>{{.}}</li>{{/changes}}</ul>{{/hasChanges}}
        <form method="post" action="{{action}}" class="stack">
        <input type="hidden" name="csrf" value="{{csrf}}">
        {{#fields}}<input type="hidden" name="{{name}}" value="{{value}}">{{/fields}}
        {{#purgeOption}}<label><input type="checkbox" name="purgeOrphans" value="yes" id="purge-orphans"> Also remove orphans ({{orphans}} found by the last run)</label>{{/purgeOption}}
        <p><button type="submit" id="confirm">{{button}}</button> <a href="{{cancel}}">Cancel</a></p>
        </form>
        """

    static let failed = """
        {{#hasEvents}}<table><tr><th>Event</th><th>Site</th><th>UID</th><th>Provider</th><th>Attempts</th><th>Code</th><th>Message</th><th>Failed</th><th></th></tr>
        {{#events}}<tr><td>{{id}}</td><td>{{site}}</td><td><a href="/admin/users?q={{uidParam}}&amp;site={{site}}">{{uid}}</a></td><td>{{provider}}</td><td>{{attempts}}</td><td>{{code}}</td><td>{{message}}</td><td>{{updatedAt}}</td>
        <td><form method="post" action="/admin/events/requeue" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="id" value="{{id}}"><button type="submit">Re-queue</button></form></td></tr>{{/events}}</table>
        {{#older}}<p><a href="/admin/events/failed?before={{older}}">Older</a></p>{{/older}}{{/hasEvents}}
        {{^events}}<p>No failed events.</p>{{/events}}
        """

    static let reconciliation = """
        {{#choices}}{{#multiSite}}<form method="get" action="/admin/reconciliation" class="inline"><label for="site">Site</label> <select id="site" name="site">{{#sites}}<option value="{{apiKey}}"{{#selected}} selected{{/selected}}>{{apiKey}}</option>{{/sites}}</select> <button type="submit">Show</button></form>{{/multiSite}}{{/choices}}
        <div class="actions">
        <form method="post" action="/admin/reconciliation/run" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="site" value="{{site}}"><input type="hidden" name="mode" value="dry_run"><button type="submit" id="dry-run"{{#running}} disabled{{/running}}>Run a dry run</button></form>
        <a href="/admin/reconciliation/repair?site={{site}}" id="repair">Repair…</a>
        </div>
        {{#run}}
        {{#summary}}<section aria-labelledby="run"><h2 id="run">{{mode}} {{id}}</h2>
        <p id="run-status">Status: <strong>{{status}}</strong>. Started {{startedAt}} by {{startedBy}}; {{checked}} of {{total}} checked{{#finishedAt}}, finished {{finishedAt}}{{/finishedAt}}.{{#error}} Error: {{error}}{{/error}}</p>
        {{#inProgress}}<p role="status">Running: this page refreshes every two seconds.</p><progress max="{{total}}" value="{{checked}}">{{checked}} of {{total}}</progress>{{/inProgress}}
        <table><tr>{{#counts}}<th><a href="/admin/reconciliation?site={{site}}&amp;category={{category}}">{{category}}</a></th>{{/counts}}</tr><tr>{{#counts}}<td class="count-{{category}}">{{count}}</td>{{/counts}}</tr></table>
        </section>{{/summary}}
        <section aria-labelledby="items"><h2 id="items">Findings{{#category}}: {{category}}{{/category}}</h2>
        {{#hasItems}}<table id="findings"><tr><th>Category</th><th>UID</th><th>siteUID</th><th>Gigya holds</th><th>Code</th><th>Detail</th><th>Action</th></tr>
        {{#items}}<tr><td>{{category}}</td><td><a href="/admin/users?q={{uidParam}}&amp;site={{site}}">{{uid}}</a></td><td>{{siteUID}}</td><td>{{gigyaUID}}</td><td>{{gigyaCode}}</td><td>{{detail}}</td><td>{{action}}</td></tr>{{/items}}</table>
        {{#next}}<p><a href="/admin/reconciliation?site={{site}}{{#category}}&amp;category={{category}}{{/category}}&amp;after={{next}}">Next</a></p>{{/next}}{{/hasItems}}
        {{^items}}<p>Nothing in this category.</p>{{/items}}
        </section>
        {{/run}}
        {{^run}}<p>No reconciliation of this site has run yet.</p>{{/run}}
        """

    static let audit = """
        <form method="get" action="/admin/audit" class="inline">
        <label for="action">Action</label> <input id="action" name="action" value="{{filter.action}}">
        <label for="uid">UID</label> <input id="uid" name="uid" value="{{filter.uid}}">
        <label for="actor">Who</label> <input id="actor" name="actor" value="{{filter.actor}}">
        <button type="submit">Filter</button>
        </form>
        {{#hasEntries}}<table><tr><th>When</th><th>Who</th><th>Action</th><th>Site</th><th>UID</th><th>Provider</th><th>Detail</th></tr>
        {{#entries}}<tr><td>{{at}}</td><td>{{actor}}</td><td>{{action}}</td><td>{{site}}</td><td>{{uid}}</td><td>{{provider}}</td><td>{{detail}}</td></tr>{{/entries}}</table>
        {{#older}}<p><a href="/admin/audit?before={{older}}{{#filter.action}}&amp;action={{filter.action}}{{/filter.action}}{{#filter.uid}}&amp;uid={{filter.uid}}{{/filter.uid}}{{#filter.actor}}&amp;actor={{filter.actor}}{{/filter.actor}}">Older</a></p>{{/older}}{{/hasEntries}}
        {{^entries}}<p>No audit entry matches.</p>{{/entries}}
        """

    static let error = """
        <p class="error" role="alert">{{message}}</p>
        <p><a href="{{back}}">Back</a></p>
        """

    static let stylesheet = """
        body { font: 15px/1.5 system-ui, sans-serif; margin: 0; color: #1b1b1b; background: #fafafa; }
        header { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; padding: .6rem 1rem; background: #1f3a5f; color: #fff; }
        header a, header .who { color: #fff; margin-right: .8rem; }
        .brand { font-weight: 600; }
        main { padding: 1rem 1.5rem; max-width: 75rem; }
        table { border-collapse: collapse; margin: .5rem 0 1rem; }
        th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
        .inline { display: inline-flex; gap: .4rem; align-items: center; flex-wrap: wrap; }
        .stack { display: flex; flex-direction: column; gap: .5rem; max-width: 30rem; }
        .actions { margin: .5rem 0 1rem; display: flex; gap: 1rem; align-items: center; }
        .error { color: #8b0000; font-weight: 600; }
        .notice { background: #e6f2e6; padding: .4rem .6rem; }
        .skip { position: absolute; left: -10000px; }
        .skip:focus { position: static; }
        a:focus, button:focus, input:focus, select:focus { outline: 3px solid #f5a623; outline-offset: 1px; }
        """
}

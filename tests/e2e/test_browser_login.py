"""Issue 23: a real browser (Debian's chromium driven by Playwright) logs in the way the openEO Web
Editor does: the authorization-code flow with PKCE against the local OIDC provider, then `/me` on the
gateway with the bearer. Every request the page makes is cross-origin (the app's origin is not the
provider's nor the gateway's), so the browser itself enforces CORS on discovery, token and `/me`.

The app is one page served on loopback at a free port: the provider accepts a loopback redirect URL
on any port (RFC 8252 7.3), and a page on loopback may call the loopback gateway and provider
(Chromium's local network access checks refuse that to a page it cannot place)."""

from __future__ import annotations

import json
import shutil
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.availability import unavailable

#: launch flags for this sandbox (no GPU, no network beyond loopback, no first-run or update work)
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]

# The app: on its first load it reads the gateway's provider list and the provider's discovery
# document, keeps a PKCE verifier and navigates to the authorization endpoint; on the redirect back
# (?code=&state=) it exchanges the code with the verifier and calls /me with the bearer.
APP_HTML = """<!doctype html><html><body><pre id="out">starting</pre><script>
const GATEWAY = %(gateway)s;
const out = (value) => { document.getElementById("out").textContent = JSON.stringify(value); };
const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
async function provider() {
  const providers = (await (await fetch(GATEWAY + "/credentials/oidc")).json()).providers;
  const local = providers.find((p) => p.id === "local");
  const client = local.default_clients.find((c) => c.grant_types.includes("authorization_code+pkce"));
  const discovery = await (await fetch(local.issuer + "/.well-known/openid-configuration")).json();
  return {local, client, discovery};
}
async function main() {
  const {local, client, discovery} = await provider();
  const params = new URLSearchParams(location.search);
  if (!params.has("code") && !params.has("error")) {
    const verifier = b64url(crypto.getRandomValues(new Uint8Array(48)));
    const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
    const state = b64url(crypto.getRandomValues(new Uint8Array(12)));
    sessionStorage.setItem("pkce", JSON.stringify({verifier, state}));
    const query = new URLSearchParams({response_type: "code", client_id: client.id, redirect_uri: location.origin + "/",
      scope: local.scopes.join(" "), state, code_challenge: challenge, code_challenge_method: "S256"});
    location.assign(discovery.authorization_endpoint + "?" + query);
    return;
  }
  const {verifier, state} = JSON.parse(sessionStorage.getItem("pkce"));
  if (params.get("state") !== state) { out({error: "state mismatch"}); return; }
  const token = await fetch(discovery.token_endpoint, {method: "POST",
    headers: {"Content-Type": "application/x-www-form-urlencoded"},
    body: new URLSearchParams({grant_type: "authorization_code", client_id: client.id, code: params.get("code"),
      redirect_uri: location.origin + "/", code_verifier: verifier})});
  const tokens = await token.json();
  if (!token.ok) { out({token_status: token.status, tokens}); return; }
  const me = await fetch(GATEWAY + "/me", {headers: {Authorization: "Bearer oidc/local/" + tokens.access_token}});
  out({token_status: token.status, me_status: me.status, me: await me.json(), has_id_token: !!tokens.id_token});
}
main().catch((err) => out({error: String(err)}));
</script></body></html>"""


def _chromium() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        unavailable("the playwright package is not installed (dev extra)")
    path = shutil.which("chromium")
    if path is None:
        unavailable("Debian's chromium is not installed (make setup installs it)")
    return path


@contextmanager
def _serving(html: str):
    """The app's page at http://127.0.0.1:<free port>/ (any path, any query) while the block runs."""
    body = html.encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_browser_logs_in_with_the_authorization_code_flow_and_calls_me(stack, tmp_path):
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    html = APP_HTML % {"gateway": json.dumps(stack.gateway_url)}
    seen: list[str] = []
    failed: list[str] = []
    with _serving(html) as app_url, sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.pages[0] if browser.pages else browser.new_page()
            page.on("request", lambda request: seen.append(request.method + " " + request.url.split("?")[0]))
            page.on("requestfailed", lambda request: failed.append(f"{request.method} {request.url}: {request.failure}"))
            page.on("console", lambda message: failed.append("console: " + message.text))
            page.goto(app_url)
            page.wait_for_function("document.getElementById('out') && document.getElementById('out').textContent.startsWith('{')",
                                   timeout=60_000)
            result = json.loads(page.inner_text("#out"))
            final_url = page.url
        finally:
            browser.close()
    assert "error" not in result, f"{result}: " + " | ".join(failed)
    assert result["token_status"] == 200 and result["has_id_token"]
    assert result["me_status"] == 200 and result["me"]["user_id"] == "oidc~local~alice", result
    # the browser went through the provider's authorization endpoint and came back with a code
    assert any(r.startswith("GET " + stack.oidc_issuer + "/authorize") for r in seen), seen
    assert final_url.startswith(app_url) and "code=" in final_url

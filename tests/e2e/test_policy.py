"""The Content-Security-Policy in a real browser: injected script does not run, the studio is
never framed, and the site's own pages may frame its public pages."""
from ..conftest import make_user
from .test_journey import sign_in

INJECT = """() => new Promise(resolve => {
  document.addEventListener("securitypolicyviolation", e => resolve(e.effectiveDirective),
                            {once: true});
  const script = document.createElement("script");
  script.textContent = "window.injected = true";
  document.body.appendChild(script);
  setTimeout(() => resolve(window.injected ? "ran" : "no report"), 2000);
})"""

FRAME = """address => new Promise(resolve => {
  const frame = document.createElement("iframe");
  frame.onload = () => {
    let title = null;
    try { title = frame.contentDocument && frame.contentDocument.title; } catch (e) {}
    resolve(title);
  };
  frame.src = address;
  document.body.appendChild(frame);
})"""


def test_injected_inline_script_is_blocked_on_public_and_studio_pages(app, live_server, page):
    make_user(app)
    for address in ("/", "/login"):
        page.goto(live_server + address)
        assert page.evaluate(INJECT) == "script-src-elem"
        assert page.evaluate("() => window.injected === undefined")
    sign_in(page, live_server)
    assert page.url == live_server + "/studio/"
    assert page.evaluate(INJECT) == "script-src-elem"
    assert page.evaluate("() => window.injected === undefined")


def test_the_studio_refuses_to_be_framed_even_by_the_site(app, live_server, page):
    make_user(app)
    sign_in(page, live_server)
    page.goto(live_server + "/")
    assert page.evaluate(FRAME, "/articles/")  # a public page, framed by the site: its title
    assert not page.evaluate(FRAME, "/studio/")  # blocked: an error page, no document of ours

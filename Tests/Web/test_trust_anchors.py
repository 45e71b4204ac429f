"""The widget's trust anchors do not come from the chat server: the organisation key is pinned by
the page (the embedding snippet's fragment), the server must sign in under the pinned name, an
invite's secret leaves the address bar at once, and a member's identity is kept only if they ask.

Run: python3 Tests/Web/test_trust_anchors.py (after Scripts/build-sodium-wasm.sh and a debug build).
"""
import base64
import functools
import http.server
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from harness import ROOT, Server, TLSProxy, browser, close_drawer, enter_lobby, enter_room, invite_link, member_id, moderate, open_drawer, press_start, wait_for_text, wait_signed_in, wait_verified
from lying_server import LyingServer

sys.path.insert(0, str(ROOT / "Tests" / "CrossCheck"))
import haven_reference as ref  # noqa: E402
import room_log_reference as log_ref  # noqa: E402


def start(driver, url, name):
    driver.get("about:blank")   # a new document, even where only the fragment differs
    driver.get(url)
    press_start(driver, name)


def line_with(driver, text):
    close_drawer(driver)
    wait_for_text(driver, "messages", text)
    return [item for item in driver.find_elements(By.CSS_SELECTOR, "#messages li") if text in item.text][0].text


def swapped_organisation_key_gives_no_badge():
    # The server runs with an organisation key of its operator's making; the provider's page pins
    # the real one. A "counsellor" certified under the swapped key is a member to everyone.
    server = Server(keys="SwappedKeys")
    browsers = []
    try:
        impostor, member = browser(), browser()
        browsers += [impostor, member]
        start(impostor, invite_link(server), "Night Helper")
        wait_verified(impostor)
        start(member, server.page, "Quiet Otter")
        wait_signed_in(member)
        for driver in browsers:
            enter_lobby(driver)
        impostor.find_element(By.ID, "composer").send_keys("trust me, I am staff\n")
        assert "counsellor ✓" in line_with(impostor, "trust me, I am staff"), "the swapped key's own page shows its badge"
        shown = line_with(member, "trust me, I am staff")
        assert "counsellor ✓" not in shown and "member" in shown, shown
        real = server.haven("keys", "show", "--keys", server.folder + "/Keys").split("organisation fingerprint: ")[1].splitlines()[0]
        assert real in member.find_element(By.ID, "organisation").get_attribute("textContent"), "the page shows the pinned key's fingerprint"
        print("  ok  a swapped organisation.pub yields no badge in a browser that pins the real key")
    finally:
        for driver in browsers:
            driver.quit()
        server.stop()


def say(driver, text):
    close_drawer(driver)
    driver.find_element(By.ID, "composer").send_keys(text + "\n")


def revoked_or_second_key_staff_are_members():
    # A counsellor redeems an invite; the operator signs the roster (binding the invite to her key),
    # then revokes her. A server that lies for a thief holding the used invite link, or for the
    # revoked counsellor, gets no badge and no staff action past the member's browser.
    server = Server()
    liar = LyingServer(server.port, server.organisation_key)
    proofs = {}

    heads = {}   # (member, room) -> the last log entry the liar passed to that member

    def watch(member, frame):
        infos = frame.get("members", []) if frame.get("type") == "joined" else [frame["member"]] if frame.get("type") == "memberJoined" else []
        for info in infos:
            if info.get("staff"):
                proofs[info["member"]] = info
        for entry in frame.get("entries", []) if frame.get("type") == "logEntries" else [frame["entry"]] if frame.get("type") == "logEntry" else []:
            if entry["seq"] >= heads.get((member, entry["room"]), {"seq": -1})["seq"]:
                heads[(member, entry["room"])] = entry
        return [frame]
    liar.to_members = watch
    browsers = []
    try:
        server.haven("rooms", "create", "--name", "Grief group", "--id", "grief", "--kind", "private", "--data", server.folder)
        link = invite_link(server).replace(server.url, liar.url)
        ana, otter = browser(), browser()
        browsers += [ana, otter]
        start(ana, link, "Ana")
        wait_verified(ana)
        start(otter, liar.page, "Quiet Otter")
        wait_signed_in(otter)
        for driver in browsers:
            enter_lobby(driver)
        ana_id, otter_id = member_id(ana), member_id(otter)
        say(otter, "please keep this")
        line_with(ana, "please keep this")
        say(ana, "hello from staff")
        assert "counsellor ✓" in line_with(otter, "hello from staff")

        # The liar says Ana took Otter from the line, with her real (public) proof, though Otter
        # never asked: the page ignores it; a counsellor turns up only for a member who waits.
        liar.inject({"v": 1, "type": "queueTaken", "member": otter_id, "displayName": "Quiet Otter", "counsellor": proofs[ana_id]}, otter_id)
        say(otter, "after the made-up counsellor")
        line_with(otter, "after the made-up counsellor")   # the injected frame came before these words
        availability = otter.find_element(By.ID, "availability").text
        assert "Ana" not in availability and "Ana" not in otter.find_element(By.ID, "direct").get_attribute("textContent"), availability
        print("  ok  a counsellor the server says took a member who never asked does not appear")
        server.haven("staff", "confirm", "--data", server.folder, "--keys", server.keys)
        open_drawer(otter)
        otter.find_element(By.CSS_SELECTOR, "footer summary").click()   # "For staff": the key and roster version
        wait_for_text(otter, "organisation", "version 1", seconds=30)

        # A second key certified with the used invite's secret, announced and sending privately.
        thief = ref.Identity(os.urandom(32))
        secret = ref.unb64(link.split("invite=")[1])
        invite_keys = ref.Identity(secret[16:])
        invite = proofs[ana_id]["staff"]["invite"]
        stolen = {"invite": invite, "member": ref.b64(thief.public),
                  "signature": ref.b64(invite_keys.sign(log_ref.staff_signed_bytes(invite, thief.public)))}
        liar.inject({"v": 1, "type": "memberJoined", "room": "lobby",
                     "member": {"member": ref.b64(thief.public), "displayName": "Night Helper", "staff": stolen}}, otter_id)
        body = json.dumps({"text": "I am your counsellor now", "counter": 1}).encode()
        message = ref.seal_direct(body, thief, ref.unb64(otter_id), os.urandom(16), os.urandom(32))
        liar.inject({"v": 1, "type": "direct", "message": message}, otter_id)
        wait_for_text(otter, "direct", "I am your counsellor now")
        shown = otter.find_element(By.ID, "direct").text
        heading = otter.find_element(By.CSS_SELECTOR, "#direct .thread h3").text
        assert heading == "Night Helper member" and "✓" not in shown, shown
        print("  ok  a second key certified from a used invite is a member in the browser")

        # The same thief joins a private room through history the browser never asked for: the log
        # takes the chain, but the key goes only to those whose staff grounds hold.
        # (The room was created at the start; Ana, remembered as staff, comes back to see it listed.)
        for attempt in range(6):
            if ana.find_elements(By.CSS_SELECTOR, "#rooms button[data-room='grief']"):
                break
            ana.refresh()
            WebDriverWait(ana, 20).until(lambda d: d.find_element(By.ID, "start").is_enabled())
            press_start(ana)
            wait_signed_in(ana)
            WebDriverWait(ana, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#rooms button"))
        enter_room(ana, "grief")
        wait_for_text(ana, "status", "in Grief group")
        WebDriverWait(ana, 30).until(lambda d: d.find_element(By.ID, "composer").is_enabled())
        wait_for_text(ana, "readers", "1 person can read this room")
        last = heads[(ana_id, "grief")]
        join = log_ref.sign_entry({"room": "grief", "seq": last["seq"] + 1, "previous": ref.b64(log_ref.entry_hash(last)), "kind": "join",
                                   "proof": {"member": ref.b64(thief.public), "displayName": "Night Helper", "staff": stolen}}, thief)
        liar.inject({"v": 1, "type": "logEntries", "room": "grief", "entries": [join]}, ana_id)
        wait_for_text(ana, "readers", "2 people can read this room")
        say(ana, "only for the group")
        WebDriverWait(ana, 20).until(lambda d: any(frame.get("type") == "send" for _, frame in liar.sent[-5:]) or "only for the group sent" in d.find_element(By.ID, "messages").text)
        assert not [b for b in liar.bundles_sent() if b["recipient"] == ref.b64(thief.public)], "the thief was sealed the private room's key"
        print("  ok  a second key from a used invite, slipped into a private room's log, is sealed no key")
        enter_lobby(ana)

        # Revoked: Ana's next words carry no badge, and a deletion she asks for, which the real
        # server refuses, is refused by the browser too when the liar passes it on as done.
        server.haven("staff", "revoke", "--data", server.folder, "--keys", server.keys, "--", ana_id[:12])
        open_drawer(otter)
        wait_for_text(otter, "organisation", "version 2", seconds=30)
        say(ana, "after the revocation")
        shown = line_with(otter, "after the revocation")
        assert "counsellor ✓" not in shown and "member" in shown, shown
        forwarded = threading.Event()

        def pass_on_as_done(member, frame):
            if member == ana_id and frame.get("type") == "moderate":
                done = {"v": 1, "type": "moderated", "action": frame["action"], "by": proofs[ana_id]}
                threading.Thread(target=lambda: (liar.inject(done, otter_id), forwarded.set())).start()
            return [frame]
        liar.to_server = pass_on_as_done
        row = [item for item in ana.find_elements(By.CSS_SELECTOR, "#messages li") if "please keep this" in item.text][0]
        moderate(ana, row, "Delete", until_done=False)   # the real server refuses it
        assert forwarded.wait(20), "the liar saw no deletion to pass on"
        say(ana, "after the forged deletion")
        line_with(otter, "after the forged deletion")
        assert "please keep this" in otter.find_element(By.ID, "messages").text, "a revoked counsellor's deletion was applied"
        print("  ok  a revoked counsellor is shown as a member and their deletion is refused by the browser")
    finally:
        for driver in browsers:
            driver.quit()
        liar.stop()
        server.stop()


class StaticSite:
    """The provider's own web server: Python's http.server on loopback, serving a folder."""

    def __init__(self, folder):
        handler = functools.partial(QuietHandler, directory=folder)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *arguments):
        pass


def integrity_errors(driver):
    return [entry["message"] for entry in driver.get_log("browser") if "integrity" in entry["message"].lower()]


def hosted_widget_runs_only_as_exported():
    # The provider hosts the exported widget on its own origin; the Haven server only answers the
    # WebSocket, the configuration and blobs. Altered code does not run.
    site_root = tempfile.mkdtemp(prefix="haven-site-")
    site = StaticSite(site_root)
    server = Server(extra_arguments=("--allowed-origin", site.origin))
    driver = browser()
    try:
        for variant in ("exported", "altered-script", "altered-wasm"):
            server.haven("widget", "export", "--keys", server.keys, "--web", str(ROOT / "Sources/HavenWeb/Public"),
                         "--out", f"{site_root}/{variant}", "--server", server.url, "--allow-http")
        with open(f"{site_root}/altered-script/rooms.js", "a") as script:
            script.write("\n// one line a compromised server would add\n")
        wasm = pathlib.Path(f"{site_root}/altered-wasm/sodium.wasm")
        wasm.write_bytes(wasm.read_bytes() + b"\0")

        start(driver, f"{site.origin}/exported/index.html", "Quiet Otter")
        wait_signed_in(driver)
        enter_lobby(driver)
        say(driver, "from the provider's page")
        wait_for_text(driver, "messages", "from the provider's page sent")
        png = pathlib.Path(site_root) / "dot.png"
        png.write_bytes(base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="))
        driver.find_element(By.ID, "attach").send_keys(str(png))
        image = WebDriverWait(driver, 20).until(lambda d: d.find_element(By.CSS_SELECTOR, ".attachment img"))
        WebDriverWait(driver, 10).until(lambda d: d.execute_script("return arguments[0].naturalWidth", image) == 1)
        assert "organisation key" in driver.find_element(By.ID, "organisation").get_attribute("textContent")
        print("  ok  the exported widget runs from the provider's origin: WebSocket, configuration and blobs across origins")

        driver.get("about:blank")
        driver.get_log("browser")
        driver.get(f"{site.origin}/altered-script/index.html")
        WebDriverWait(driver, 20).until(integrity_errors, "the browser reported no integrity failure")
        assert member_id(driver) is None, "the widget ran"
        print("  ok  an exported widget whose script was altered does not run (Subresource Integrity)")

        driver.get("about:blank")
        driver.get(f"{site.origin}/altered-wasm/index.html")
        wait_for_text(driver, "status", "not the one it was published with")
        assert member_id(driver) is None, "the widget ran"
        print("  ok  an exported widget whose WebAssembly was altered does not run (pinned hash)")
    finally:
        driver.quit()
        site.stop()
        server.stop()
        shutil.rmtree(site_root, ignore_errors=True)


def swift_client_speaks_wss_and_checks_the_certificate():
    # `haven chat` through TLS in front of the server: it talks when the certificate verifies for
    # the name, and refuses an untrusted certificate or one for another name before anything else.
    # It stays 20 s: long enough to be given the room's key and hear the reply on a busy machine.
    server = Server()
    proxy = TLSProxy(server.port)
    driver = browser()
    try:
        start(driver, server.page, "Quiet Otter")
        wait_signed_in(driver)
        enter_lobby(driver)
        chat = [str(ROOT / ".build/debug/haven"), "chat", "--room", "lobby", "--name", "Swift Wren", "--seconds", "20",
                "--server-name", "haven", "--organisation-key", server.organisation_key]
        talk = subprocess.Popen(chat + ["--server", f"wss://localhost:{proxy.port}", "--ca-file", proxy.ca, "--say", "hello over TLS"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_for_text(driver, "messages", "hello over TLS", seconds=30)
        except AssertionError:
            talk.kill()
            output, errors = talk.communicate()
            raise AssertionError(f"haven chat printed {output!r} and {errors!r}; the server's log ends {''.join(server.log[-20:])!r}")
        say(driver, "TLS reply")
        output, errors = talk.communicate(timeout=60)
        assert talk.returncode == 0 and "(member): TLS reply" in output, (output, errors)
        untrusted = subprocess.run(chat + ["--server", f"wss://localhost:{proxy.port}"], capture_output=True, text=True, timeout=60)
        assert untrusted.returncode != 0 and "TLS handshake failed" in untrusted.stderr, untrusted.stderr
        misnamed = subprocess.run(chat + ["--server", f"wss://127.0.0.1:{proxy.port}", "--ca-file", proxy.ca],
                                  capture_output=True, text=True, timeout=60)
        assert misnamed.returncode != 0 and "TLS handshake failed" in misnamed.stderr, misnamed.stderr
        print("  ok  haven chat speaks wss:// and refuses an untrusted certificate or one for another name")
    finally:
        driver.quit()
        proxy.stop()
        server.stop()


def main():
    swift_client_speaks_wss_and_checks_the_certificate()
    swapped_organisation_key_gives_no_badge()
    revoked_or_second_key_staff_are_members()
    hosted_widget_runs_only_as_exported()
    server = Server()
    driver = browser()
    try:
        # The invite's secret is gone from the address bar before anything else happens.
        link = invite_link(server)
        driver.get(link)
        WebDriverWait(driver, 20).until(lambda d: "invite=" not in d.current_url)
        assert "org=" in driver.current_url, "the pinned key stays in the fragment"
        print("  ok  an invite link's secret leaves the address bar as the page loads")

        # A server that signs in under another name than the page pins is refused before login.
        start(driver, server.page + "&server=chat.example.org", "Quiet Otter")
        wait_for_text(driver, "status", "not the service this page was set up for")
        print("  ok  a server signing in under another name than the pinned one is refused")

        # Nothing is kept unless the member asks: a reload is a new identity.
        start(driver, server.page, "Quiet Otter")
        wait_signed_in(driver)
        first = member_id(driver)
        assert driver.execute_script("return localStorage.length + sessionStorage.length") == 0, "nothing written to storage"
        assert driver.get_cookies() == [], f"cookies were set: {driver.get_cookies()}"
        driver.refresh()
        WebDriverWait(driver, 20).until(lambda d: member_id(d) and member_id(d) != first)
        print("  ok  a reload without \"remember me\" starts a new identity and left nothing in storage or cookies")

        # "Remember me" keeps the identity across reloads, wrapped by a key the page cannot export.
        WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "remember").is_displayed())
        driver.find_element(By.ID, "remember").click()
        wait_for_text(driver, "remember-note", "This device remembers you")
        remembered = member_id(driver)
        raw = driver.execute_async_script("""
            const done = arguments[0];
            const opening = indexedDB.open("haven");
            opening.onsuccess = () => {
              const get = opening.result.transaction("identity").objectStore("identity").get("seed");
              get.onsuccess = () => done({ extractable: get.result.key.extractable, sealed: get.result.sealed.byteLength });
            };""")
        assert raw == {"extractable": False, "sealed": 48}, raw
        driver.refresh()
        WebDriverWait(driver, 20).until(lambda d: member_id(d) == remembered)
        assert driver.find_element(By.ID, "remember").is_selected()
        print("  ok  \"remember me\" keeps the identity, sealed by a non-extractable WebCrypto key in IndexedDB")

        # "Leave and forget" asks first, then wipes every trace.
        driver.find_element(By.ID, "forget").click()
        assert driver.find_element(By.ID, "forget-confirm").is_displayed()
        driver.find_element(By.ID, "forget-no").click()
        assert member_id(driver) == remembered, "cancel keeps everything"
        driver.find_element(By.ID, "forget").click()
        driver.find_element(By.ID, "forget-yes").click()
        WebDriverWait(driver, 20).until(lambda d: member_id(d) and member_id(d) != remembered)
        assert driver.execute_script("return localStorage.length") == 0
        names = driver.execute_async_script("indexedDB.databases().then((list) => arguments[0](list.map((d) => d.name)))")
        assert "haven" not in names, names
        print("  ok  \"leave and forget\" asks to confirm, then wipes the identity and the storage")
        print("trust anchor tests passed")
    except BaseException:
        print("the server's log, last 40 lines:\n" + "".join(server.log[-40:]), file=sys.stderr)
        raise
    finally:
        driver.quit()
        server.stop()


if __name__ == "__main__":
    sys.exit(main())

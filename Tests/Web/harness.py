"""What the browser tests share: the real `haven serve` binary on a free loopback port with a
temporary data folder, headless Chromium (Debian's chromium and chromium-driver, with fake camera
and microphone), and waits that explain what they saw when they time out."""
import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import threading

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent


class Server:
    """`haven serve` on a free port with a temporary data folder; `page` is the widget's address
    with the organisation key pinned in its fragment, `url` the bare server."""

    def __init__(self, extra_config="", keys="Keys", extra_arguments=()):
        self.folder = tempfile.mkdtemp(prefix="haven-web-")
        self.haven("keys", "init", "--keys", self.folder + "/Keys")
        # `keys` names the folder the server runs with: another than Keys plays an operator who
        # swapped the organisation key on the server.
        self.keys = self.folder + "/" + keys
        if keys != "Keys":
            self.haven("keys", "init", "--keys", self.keys)
        config = pathlib.Path(self.folder) / "haven.toml"
        config.write_text(
            '[[rooms]]\nid = "lobby"\nname = "Lobby"\n\n[[rooms]]\nid = "staff-only"\nname = "Not shown"\n\n'
            '[widget]\nname = "Riverside Support"\ncolour = "#336699"\nrules = ["Be kind to each other."]\n'
            'crisis_contacts = [{ name = "Samaritans", contact = "116 123" }]\nrooms = ["lobby"]\n' + extra_config)
        self.arguments = ["--data", self.folder, "--web", str(ROOT / "Sources/HavenWeb/Public"), "--keys", self.keys,
                          "--config", str(config), *extra_arguments]
        self.log = []
        self.port = self.start("127.0.0.1:0")
        self.url = f"http://127.0.0.1:{self.port}/"
        # The widget's page as the provider's snippet opens it: the organisation key pinned in the fragment.
        self.organisation_key = self.haven("keys", "export-public", "--keys", self.folder + "/Keys").strip()
        self.page = f"{self.url}#org={self.organisation_key}"

    def start(self, listen):
        """Starts `haven serve` on `listen` and returns the port it listens on."""
        self.process = subprocess.Popen([str(ROOT / ".build/debug/haven"), "serve", "--listen", listen, *self.arguments],
                                        stderr=subprocess.PIPE, text=True)
        for line in self.process.stderr:
            match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if match:
                break
        else:
            raise SystemExit("haven serve did not start")
        # Drain the log so the server never blocks on a full pipe; keep it for a failure's report.
        threading.Thread(target=lambda process=self.process: self.log.extend(process.stderr), daemon=True).start()
        return int(match.group(1))

    def restart(self, then=None):
        """Stops the server gracefully, runs `then()` while it is down, and starts it again on the same port."""
        self.process.terminate()
        self.process.wait(timeout=10)
        if then:
            then()
        self.start(f"127.0.0.1:{self.port}")

    def haven(self, *arguments):
        """Runs an operator command against this server's folders and returns its output."""
        result = subprocess.run([str(ROOT / ".build/debug/haven"), *arguments], capture_output=True, text=True,
                                env={**os.environ, "HAVEN_PASSPHRASE": "a passphrase for the browser tests"})
        assert result.returncode == 0, result.stderr
        return result.stdout

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        print(f"  (the server logged {sum(map(len, self.log))} characters)")
        shutil.rmtree(self.folder, ignore_errors=True)


def browser(language=None):
    """Headless Chromium; `language` (e.g. "es") makes it a browser that prefers that language."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    if language:
        options.add_argument(f"--lang={language}")
        options.add_experimental_option("prefs", {"intl.accept_languages": f"{language},en"})
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=420,900",
                     "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required",
                     "--allow-loopback-in-peer-connection"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    # A page whose identity is not remembered asks before it is left: the tests leave on purpose.
    options.set_capability("unhandledPromptBehavior", "accept")
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def wait_for_text(driver, element_id, text, seconds=20):
    try:
        WebDriverWait(driver, seconds).until(ready.text_to_be_present_in_element((By.ID, element_id), text))
    except Exception:
        shown = driver.find_element(By.ID, element_id).text
        status = driver.find_element(By.ID, "status").text
        raise AssertionError(f"waited {seconds} s for {text!r} in #{element_id}; it shows {shown!r}; status {status!r}")


def hosts_requested(driver):
    hosts = set()
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            match = re.match(r"^[a-z]+://([^/:]+)", url)
            if match:
                hosts.add(match.group(1))
    return hosts




def invite_link(server, role="counsellor", expires="1h"):
    """A fresh staff invite link for the widget on `server`, signed by the key the server runs with."""
    return server.haven("invite", "create", "--data", server.folder, "--keys", server.keys, "--role", role,
                        "--expires", expires, "--url", server.url, "--allow-http").splitlines()[0]


def member_id(driver) -> str:
    """The public key of the identity this browser uses now."""
    # One script, so a page that is reloading answers None instead of a stale element.
    return driver.execute_script("return document.getElementById('you')?.dataset.member ?? null")


class TLSProxy:
    """TLS in front of `haven serve` on loopback, as a reverse proxy would put it: a certificate
    for "localhost" from a throwaway CA (made with the openssl tool), bytes relayed both ways."""

    def __init__(self, upstream_port: int):
        import asyncio
        import ssl
        self.folder = tempfile.mkdtemp(prefix="haven-tls-")
        self.ca = self.folder + "/ca.pem"
        run = lambda *arguments: subprocess.run(["openssl", *arguments], check=True, capture_output=True, cwd=self.folder)
        run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
            "-subj", "/CN=Haven test CA", "-keyout", "ca.key", "-out", "ca.pem")
        run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost",
            "-keyout", "server.key", "-out", "server.csr")
        pathlib.Path(self.folder, "san.ext").write_text("subjectAltName=DNS:localhost\n")
        run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1",
            "-extfile", "san.ext", "-out", "server.pem")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.folder + "/server.pem", self.folder + "/server.key")
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def relay(reader, writer):
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
            except OSError:
                writer.close()
                return

            async def pipe(source, sink):
                try:
                    while data := await source.read(65536):
                        sink.write(data)
                        await sink.drain()
                except (ConnectionError, ssl.SSLError):
                    pass
                finally:
                    sink.close()
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

        async def start():
            self.server = await asyncio.start_server(relay, "127.0.0.1", 0, ssl=context)
            self.port = self.server.sockets[0].getsockname()[1]
            ready.set()

        threading.Thread(target=lambda: (self.loop.run_until_complete(start()), self.loop.run_forever()), daemon=True).start()
        ready.wait(10)

    def stop(self):
        self.loop.call_soon_threadsafe(self.server.close)
        shutil.rmtree(self.folder, ignore_errors=True)


def open_drawer(driver):
    """In a room on a phone, the name, rooms, private messages, call settings and staff tools are
    a sheet behind "Rooms and settings" (on a wide screen they are beside the chat): open it."""
    toggle = driver.find_element(By.ID, "drawer-toggle")
    if toggle.is_displayed() and not driver.execute_script("return document.body.classList.contains('drawer-open')"):
        toggle.click()


def close_drawer(driver):
    """Back to the chat from the sheet, if it is open."""
    back = driver.find_element(By.ID, "drawer-close")
    if back.is_displayed():
        back.click()


def accessibility_violations(driver):
    """axe-core's findings on the page as it is now (axe-selenium-python from PyPI injects it)."""
    from axe_selenium_python import Axe
    axe = Axe(driver)
    axe.inject()
    return [f"{v['id']} ({v['impact']}): {[node['target'] for node in v['nodes']][:3]}" for v in axe.run()["violations"]]


def wait_signed_in(driver, seconds=20):
    """Waits until the widget's session is open (logged in), as its page says."""
    try:
        WebDriverWait(driver, seconds).until(lambda d: d.execute_script("return document.body.dataset.session") == "open")
    except TimeoutException:
        raise AssertionError(f"waited {seconds} s for the widget to sign in; status {driver.find_element(By.ID, 'status').text!r}") from None


def wait_verified(driver, role="counsellor", seconds=20):
    """Waits until the widget has verified this device's own staff role (its invite redeemed)."""
    try:
        WebDriverWait(driver, seconds).until(lambda d: d.execute_script("return document.body.dataset.role") == role)
    except TimeoutException:
        raise AssertionError(f"waited {seconds} s for this device to be a verified {role}; status {driver.find_element(By.ID, 'status').text!r}") from None


def press_start(driver, name=None):
    """Presses Start once the widget is ready for it (it stays disabled while the page sets up),
    having typed `name` into the name box first, if given."""
    WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "start").is_enabled(), "Start never became ready")
    if name is not None:
        field = driver.find_element(By.ID, "pseudonym")
        field.clear()
        field.send_keys(name)
    driver.find_element(By.ID, "start").click()


def message_action(row, label):
    """Taps the action `label` of a message (`row`), opening its "⋯" first where a phone folds
    the actions away."""
    buttons = row.find_elements(By.XPATH, f".//button[text()='{label}']")
    if not (buttons and buttons[0].is_displayed()):
        row.find_element(By.CSS_SELECTOR, "button.more").click()
    row.find_element(By.XPATH, f".//button[text()='{label}']").click()


def moderate(driver, row, action, until_done=True):
    """Opens the "Moderate" menu of a message (`row`), picks `action` (Delete, Suspend 1 h, Remove,
    Ban), confirms once without a reason (which the page refuses), picks the first reason
    ("Harassing other members"), confirms, and (`until_done`) waits until the page says it is done."""
    driver.execute_script("document.getElementById('status').textContent = ''")
    close_drawer(driver)
    message_action(row, "Moderate")
    row.find_element(By.XPATH, f".//div[@class='moderation-panel']/button[text()='{action}']").click()
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.activeElement.tagName") == "SELECT",
                                    "the question does not take the focus (its reason)")
    row.find_element(By.CSS_SELECTOR, "button.confirm-action").click()
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "status").text.startswith("Choose a reason first"),
                                    "an action without a reason was not refused")
    Select(row.find_element(By.CSS_SELECTOR, ".moderation-panel select")).select_by_index(1)
    row.find_element(By.CSS_SELECTOR, "button.confirm-action").click()
    if until_done:
        WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "status").text.startswith("Done:"),
                                        f"{action} was never confirmed as done")


def enter_room(driver, room, usable=True):
    """Into `room`, with the chat on screen and (`usable`) the composer usable. After Start the
    widget opens the lobby (its default room) by itself; otherwise this goes through "Rooms and
    settings"."""
    button = f"#rooms button[data-room='{room}']"
    WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, button), f"no {room} in the room list")
    if driver.execute_script("return document.body.dataset.room") == room:
        close_drawer(driver)
    else:
        open_drawer(driver)
        driver.find_element(By.CSS_SELECTOR, button).click()
    if usable:
        WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "composer").is_enabled(), f"the composer never became usable in {room}")


def enter_lobby(driver, usable=True):
    """Into the lobby (enter_room)."""
    enter_room(driver, "lobby", usable)

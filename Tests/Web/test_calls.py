"""Browser tests of 1:1 calls: headless Chromium with fake camera and microphone, the real
`haven serve`, and (in the second half) a real coturn on loopback as the only way media may flow.

Run: python3 Tests/Web/test_calls.py (after Scripts/build-sodium-wasm.sh and a debug build).
"""
import pathlib
import socket
import subprocess
import sys
import tempfile
import threading
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from harness import ROOT, Server, browser, close_drawer, enter_lobby, message_action, moderate, invite_link, open_drawer, press_start, wait_for_text, wait_signed_in, wait_verified

# Wraps getUserMedia so the test can see every camera and microphone request the page makes.
RECORD_MEDIA_REQUESTS = """
window.mediaRequests = [];
const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = (constraints) => { window.mediaRequests.push(constraints); return original(constraints); };
"""

# What a tampered client or a party in the middle would do: sign one fingerprint, present another.
TAMPER_SIGNED_FINGERPRINT = """
const original = RTCCertificate.prototype.getFingerprints;
RTCCertificate.prototype.getFingerprints = function () {
  return original.call(this).map((f) => ({ algorithm: f.algorithm, value: f.value.replace(/^../, f.value.startsWith("AA") ? "BB" : "AA") }));
};
"""


def start(server, name, url=None, audio_only=False, takes_calls=True, direct=False):
    """A browser that picked `name`, joined the lobby and holds its key; a member turns calls on
    (`takes_calls`: they are off until a member does) and may allow a direct connection (`direct`:
    without it, a member's calls go through a relay only)."""
    driver = browser()
    driver.get(url or server.page)
    WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "start").is_enabled())
    assert not driver.find_element(By.ID, "accept-calls").is_selected(), "calls are off until the member turns them on"
    if takes_calls and not url:
        driver.find_element(By.ID, "accept-calls").click()
    if audio_only:
        driver.find_element(By.ID, "audio-only").click()
    if direct:
        driver.find_element(By.ID, "direct-calls").click()
    press_start(driver, name)
    if url:
        wait_verified(driver)
    else:
        wait_signed_in(driver)
    enter_lobby(driver)
    WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "composer").is_enabled())
    driver.execute_script(RECORD_MEDIA_REQUESTS)
    return driver


def row(driver, text):
    """The message row in the room that contains `text`."""
    close_drawer(driver)
    WebDriverWait(driver, 20).until(lambda d: any(text in item.text for item in d.find_elements(By.CSS_SELECTOR, "#messages li")))
    return [item for item in driver.find_elements(By.CSS_SELECTOR, "#messages li") if text in item.text][0]


def media_bytes(driver):
    """Bytes of audio and video this browser has received in the call, from getStats()."""
    quality = driver.find_element(By.ID, "call-quality")
    return int(quality.get_attribute("data-inbound-audio-bytes") or 0), int(quality.get_attribute("data-inbound-video-bytes") or 0)


def wait_for_media(driver, video=True):
    WebDriverWait(driver, 30).until(lambda d: media_bytes(d)[0] > 0 and (media_bytes(d)[1] > 0 or not video))
    return media_bytes(driver)


def camera_requests(driver):
    return [request for request in driver.execute_script("return window.mediaRequests") if request.get("video")]


def driver_requests_audio(driver):
    return any(request.get("audio") for request in driver.execute_script("return window.mediaRequests"))


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def calls_without_relay(browsers):
    server = Server()
    try:
        ana = start(server, "Ana", url=invite_link(server))
        alice = start(server, "Quiet Otter", direct=True)
        bob = start(server, "Calm Heron", audio_only=True)
        carol = start(server, "Kind Fox", takes_calls=False, direct=True)
        browsers.extend([ana, alice, bob, carol])
        for driver, text in ((alice, "hello from Alice"), (bob, "hello from Bob"), (carol, "hello from Carol")):
            driver.find_element(By.ID, "composer").send_keys(text + "\n")

        # Calls are off until a member turns them on: Carol did not, and is not rung.
        message_action(row(ana, "hello from Carol"), "Audio call")
        wait_for_text(ana, "call-status", "The call could not go ahead: this member does not take calls.")
        assert "calling you" not in carol.find_element(By.ID, "call-status").text
        print("  ok  calls are off until a member turns them on: a member who did not is not rung")

        # A video call, answered from the keyboard: both sides receive audio and video.
        message_action(row(ana, "hello from Alice"), "Video call")
        wait_for_text(alice, "call-status", "Ana (verified counsellor) is calling you (video call)")
        assert alice.switch_to.active_element.get_attribute("id") == "call-accept-video", "the incoming card takes the focus"
        assert alice.title.startswith("Incoming call"), alice.title
        alice.execute_script("document.getElementById('call').scrollIntoView()")
        alice.save_screenshot(str(ROOT / "docs/screenshots/call-incoming.png"))
        alice.switch_to.active_element.send_keys(Keys.ENTER)
        for driver in (ana, alice):
            wait_for_text(driver, "call-status", "In a video call", seconds=30)
            audio, video = wait_for_media(driver)
            assert audio > 0 and video > 0, (audio, video)
        assert alice.title == "Riverside Support", alice.title
        print("  ok  a counsellor calls a member by video; both receive audio and video (getStats inbound bytes)")
        mute = alice.find_element(By.ID, "call-mute")
        mute.click()
        assert mute.get_attribute("aria-pressed") == "true" and mute.text == "Unmute"
        alice.find_element(By.ID, "call-camera").click()
        assert alice.find_element(By.ID, "call-camera").text == "Camera on"
        WebDriverWait(alice, 10).until(lambda d: d.find_element(By.ID, "call-duration").text != "00:00")
        assert "Connection:" in alice.find_element(By.ID, "call-quality").text
        ana.execute_script("document.getElementById('call').scrollIntoView()")
        ana.save_screenshot(str(ROOT / "docs/screenshots/call-video.png"))
        alice.find_element(By.ID, "call-audio-only").click()
        wait_for_text(ana, "call-status", "Quiet Otter (member) switched to audio only")
        assert all(track == "ended" for track in alice.execute_script(
            "return document.getElementById('local-media').srcObject?.getVideoTracks().map((t) => t.readyState) ?? ['ended']"))
        alice.find_element(By.ID, "call-hangup").click()
        wait_for_text(alice, "call-status", "You ended the call")
        wait_for_text(ana, "call-status", "Quiet Otter (member) ended the call")
        alice.find_element(By.ID, "call-close").click()
        WebDriverWait(alice, 10).until(lambda d: not d.find_element(By.ID, "call").is_displayed(), "the word about the ended call could not be put away")
        print("  ok  mute, camera off, switch to audio only, duration and quality work; a hang-up ends both sides; the panel closes")

        # This server has no relay, and Bob did not allow a direct connection: his page says so, he
        # takes no calls, and the counsellor hears it before he is rung.
        open_drawer(bob)
        assert "Counsellors cannot call you yet" in bob.find_element(By.ID, "calls-note").text
        close_drawer(bob)
        message_action(row(ana, "hello from Bob"), "Audio call")
        wait_for_text(ana, "call-status", "this member does not take calls")
        assert "calling you" not in bob.find_element(By.ID, "call-status").text
        print("  ok  without a relay, a member who did not allow a direct connection is not rung (their address stays theirs)")
        open_drawer(bob)
        bob.find_element(By.ID, "direct-calls").click()
        assert "You allowed a direct connection" in bob.find_element(By.ID, "calls-note").text
        close_drawer(bob)

        # Bob's standing preference is audio only: he is never asked for video, and no camera opens.
        ana.execute_script("window.mediaRequests = []")
        message_action(row(ana, "hello from Bob"), "Video call")
        wait_for_text(bob, "call-status", "Ana (verified counsellor) is calling you")
        assert not bob.find_element(By.ID, "call-accept-video").is_displayed()
        bob.find_element(By.ID, "call-accept-audio").click()
        for driver in (ana, bob):
            wait_for_text(driver, "call-status", "In an audio call", seconds=30)
            audio, video = wait_for_media(driver, video=False)
            assert audio > 0 and video == 0, (audio, video)
        assert driver_requests_audio(bob) and camera_requests(bob) == [], "the audio-only member's camera was requested"
        assert camera_requests(ana) == [], "the counsellor opened a camera for an audio-only call"
        ana.find_element(By.ID, "call-hangup").click()
        wait_for_text(bob, "call-status", "Ana (verified counsellor) ended the call")
        print("  ok  a member with the audio-only preference gets an audio-only call and no camera is opened")

        # Alice declines; the counsellor cannot make her phone ring again straight away.
        message_action(row(ana, "hello from Alice"), "Audio call")
        wait_for_text(alice, "call-status", "Ana (verified counsellor) is calling you (audio call)")
        alice.switch_to.active_element.send_keys(Keys.ESCAPE)
        wait_for_text(ana, "call-status", "Quiet Otter (member) declined the call")
        assert not alice.find_element(By.ID, "call-incoming").is_displayed()
        message_action(row(ana, "hello from Alice"), "Audio call")
        wait_for_text(ana, "call-status", "The call could not go ahead: they declined your call; try again later.")
        time.sleep(1)
        assert alice.find_element(By.ID, "call-status").text == "You declined the call."
        print("  ok  a call declined with the Escape key rings no more")

        # A caller that signs one DTLS fingerprint and presents another is refused before any media flows.
        ana.execute_script(TAMPER_SIGNED_FINGERPRINT)
        message_action(row(ana, "hello from Bob"), "Audio call")
        wait_for_text(bob, "call-status", "Ana (verified counsellor) is calling you")
        bob.find_element(By.ID, "call-accept-audio").click()
        wait_for_text(bob, "call-status", "security fingerprint did not match")
        wait_for_text(ana, "call-status", "the security check failed on the other side")
        assert media_bytes(bob) == (0, 0) and media_bytes(ana) == (0, 0)
        print("  ok  a tampered fingerprint aborts the call")

        # Members may call a counsellor who offers calls; a banned member cannot.
        open_drawer(ana)
        ana.find_element(By.ID, "offer-calls").click()
        open_drawer(carol)
        WebDriverWait(carol, 20).until(lambda d: d.find_elements(By.XPATH, "//ul[@id='call-offers']//button[text()='Voice call']"))
        carol.find_element(By.XPATH, "//ul[@id='call-offers']//button[text()='Voice call']").click()
        wait_for_text(ana, "call-status", "Kind Fox (member) is calling you (audio call)")
        ana.find_element(By.ID, "call-decline").click()
        wait_for_text(carol, "call-status", "declined the call")
        moderate(ana, row(ana, "hello from Carol"), "Ban")
        wait_for_text(carol, "status", "A moderator banned you from this service. Reason: Harassing other members")   # said plainly, with why
        assert not carol.find_element(By.ID, "composer").is_enabled(), "a banned member is not told their words will be sent"
        carol.find_element(By.XPATH, "//ul[@id='call-offers']//button[text()='Voice call']").click()
        wait_for_text(carol, "status", "you are not connected, so you cannot call")
        # Coming back as the same identity (kept on this device) meets the ban.
        carol.find_element(By.ID, "remember").click()
        wait_for_text(carol, "remember-note", "This device remembers you")
        carol.refresh()
        WebDriverWait(carol, 20).until(lambda d: d.find_element(By.ID, "remember").is_selected())
        press_start(carol)
        wait_for_text(carol, "status", "You can no longer post here")
        assert "Kind Fox is calling" not in ana.find_element(By.ID, "call-status").text
        print("  ok  a member calls a counsellor who offers calls; once banned, they cannot call")

        # Offering calls is a standing setting of the counsellor's device: it survives a reload.
        ana.refresh()
        press_start(ana)
        enter_lobby(ana)
        open_drawer(ana)
        WebDriverWait(ana, 20).until(lambda d: d.find_element(By.ID, "offer-calls").is_displayed())
        assert ana.find_element(By.ID, "offer-calls").is_selected()
        open_drawer(alice)
        WebDriverWait(alice, 20).until(lambda d: d.find_elements(By.XPATH, "//ul[@id='call-offers']//button[text()='Video call']"))
        print("  ok  a counsellor's offer of calls survives a reload, and members see it again")
    finally:
        server.stop()


def calls_through_coturn(browsers):
    """A real coturn on loopback; the widget is told to use relayed candidates only."""
    folder = pathlib.Path(tempfile.mkdtemp(prefix="haven-turn-"))
    secret = "a secret shared by haven and coturn"
    (folder / "turn.secret").write_text(secret + "\n")
    (folder / "turn.secret").chmod(0o600)   # a secret file other users can read is refused
    port = free_udp_port()
    coturn = subprocess.Popen(
        ["turnserver", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", f"--listening-port={port}",
         "--use-auth-secret", f"--static-auth-secret={secret}", "--realm=haven.test", "--no-tls", "--no-dtls",
         "--no-tcp-relay", "--allow-loopback-peers", "--no-cli", "--fingerprint", "--min-port=49160", "--max-port=49260",
         f"--pidfile={folder}/turnserver.pid", "--log-file=stdout", "--simple-log", "--verbose"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # coturn's log is read as it is written: read only after a SIGTERM, its last lines could be
    # lost in the pipe.
    log = []
    threading.Thread(target=lambda: log.extend(line.rstrip("\n") for line in coturn.stdout), daemon=True).start()
    server = None
    try:
        server = Server(f'\n[turn]\nurls = ["turn:127.0.0.1:{port}?transport=udp"]\nsecret_file = "{folder}/turn.secret"\n'
                        'relay_only = true\n\n[calls]\naudit = true\n')
        ana = start(server, "Ana", url=invite_link(server))
        alice = start(server, "Quiet Otter")
        browsers.extend([ana, alice])
        alice.find_element(By.ID, "composer").send_keys("hello through the relay\n")
        message_action(row(ana, "hello through the relay"), "Video call")
        wait_for_text(alice, "call-status", "Ana (verified counsellor) is calling you")
        alice.find_element(By.ID, "call-accept-video").click()
        for driver in (ana, alice):
            wait_for_text(driver, "call-status", "In a video call", seconds=30)
            audio, video = wait_for_media(driver)
            quality = driver.find_element(By.ID, "call-quality")
            # The candidate pair is read from the same getStats() as the bytes, but may be named a tick later.
            WebDriverWait(driver, 20).until(lambda d: quality.get_attribute("data-local-candidate-type"), "the call never named its candidate pair")
            assert quality.get_attribute("data-local-candidate-type") == "relay", quality.get_attribute("data-local-candidate-type")
            assert quality.get_attribute("data-remote-candidate-type") == "relay"
            assert "(relayed)" in quality.text
        ana.find_element(By.ID, "call-hangup").click()
        wait_for_text(alice, "call-status", "Ana (verified counsellor) ended the call")
        print(f"  ok  with relay-only ICE, media flows through a real coturn on loopback ({audio} audio and {video} video bytes received)")
        time.sleep(0.5)
        recorded = server.haven("audit", "--calls", "--data", server.folder)
        assert "calls recorded: 1" in recorded and " called " in recorded, recorded
        print("  ok  with [calls] audit = true, `haven audit --calls` shows that the call happened, and nothing more")
        deadline = time.time() + 20
        while time.time() < deadline and not relayed(log):
            time.sleep(0.1)
    finally:
        if server:
            server.stop()
        coturn.terminate()
        try:
            coturn.wait(timeout=10)
        except subprocess.TimeoutExpired:
            coturn.kill()
    return list(log)


def relayed(log):
    """The allocations and permissions coturn logged for a call: (allocations, permissions)."""
    allocations = [line for line in log if "ALLOCATE processed, success" in line]
    permissions = [line for line in log if "peer 127.0.0.1 lifetime updated" in line or "CREATE_PERMISSION processed, success" in line]
    return (allocations, permissions) if len(allocations) >= 2 and permissions else None


def main():
    browsers = []
    try:
        calls_without_relay(browsers)
        for driver in browsers:
            driver.quit()
        browsers.clear()
        log = calls_through_coturn(browsers)
        assert relayed(log), "coturn relayed nothing:\n" + "\n".join(log[-40:])
        allocations, permissions = relayed(log)
        print(f"  ok  coturn allocated {len(allocations)} relays and opened {len(permissions)} permissions for the call")
        print("call tests passed")
    finally:
        for driver in browsers:
            driver.quit()


if __name__ == "__main__":
    sys.exit(main())

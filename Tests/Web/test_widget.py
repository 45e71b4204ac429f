"""Browser tests of the web widget: real headless Chromium (Debian's chromium and chromium-driver)
driven by Selenium, against the real `haven serve` binary on loopback.

Run: python3 Tests/Web/test_widget.py (after Scripts/build-sodium-wasm.sh and a debug build).
"""
import base64
import json
import os
import pathlib
import sqlite3
import subprocess
import sys
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "CrossCheck"))
from haven_reference import padded_size  # noqa: E402
from harness import ROOT, Server, accessibility_violations, browser, close_drawer, enter_lobby, message_action, moderate, hosts_requested, invite_link, open_drawer, press_start, wait_for_text, wait_signed_in, wait_verified


def main():
    server = Server()
    browsers = []
    try:
        # A name that could pass for a verified counsellor is refused before anything is sent.
        driver = browser()
        browsers.append(driver)
        driver.get(server.page)
        press_start(driver, "Sam \u202erellesnuoc ✓")
        wait_for_text(driver, "status", "Please choose another name")
        driver.execute_script("document.getElementById('status').textContent = ''")
        press_start(driver, "Sam the Counsellor")
        wait_for_text(driver, "status", '"counsellor" is a word for a role here')
        assert driver.find_element(By.ID, "start").is_enabled(), "the member can pick another name"
        driver.quit()
        browsers.remove(driver)
        print("  ok  a name with a check mark, a right-to-left override or a role word is refused in plain words")

        for name in ("Quiet Otter", "Calm Heron"):
            driver = browser()
            browsers.append(driver)
            driver.get(server.page)
            press_start(driver, name)
            wait_signed_in(driver)
        alice, bob = browsers
        for driver in browsers:
            enter_lobby(driver)
            WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "composer").is_enabled())
        marker = f"hello from the browser {os.getpid()}"
        alice.find_element(By.ID, "composer").send_keys(marker + "\n")
        wait_for_text(bob, "messages", marker)
        bob.find_element(By.ID, "composer").send_keys("hello back\n")
        wait_for_text(alice, "messages", "hello back")
        wait_for_text(alice, "messages", f"{marker} sent")
        assert "Quiet Otter" in bob.find_element(By.ID, "messages").text, "the sender's chosen pseudonym is shown"
        print("  ok  two browsers chat end to end in a room")

        # Bob messages Alice privately by choosing her name; only she receives it, sealed to her key.
        name = [item for item in bob.find_elements(By.CSS_SELECTOR, "#messages li") if marker in item.text][0]
        message_action(name, "Message privately")   # an action on every message (behind "⋯" on a phone)
        bob.find_element(By.ID, "direct-composer").send_keys("just between us\n")
        # On a phone private messages are in the sheet: the chat announces one, and a tap shows it.
        notice = WebDriverWait(alice, 20).until(lambda d: d.find_element(By.ID, "direct-notice") if d.find_element(By.ID, "direct-notice").is_displayed() else None,
                                                "the chat does not announce the private message")
        assert "New private message from Calm Heron (member)" in notice.text, notice.text
        notice.click()
        wait_for_text(alice, "direct", "just between us")
        thread = alice.find_element(By.CSS_SELECTOR, "#direct .thread")
        WebDriverWait(alice, 10).until(lambda d: thread.find_element(By.CSS_SELECTOR, "h3").text == "Calm Heron member", thread.text)
        wait_for_text(bob, "direct", "You: just between us sent")
        # Bob's own side of the conversation is kept on his page, in the thread with Alice.
        assert "Quiet Otter" in bob.find_element(By.CSS_SELECTOR, "#direct .thread h3").text
        print("  ok  a member messages another privately from the room; each side sees a thread under the other's name and role")

        # Alice takes private messages only from counsellors: Bob, whom she never wrote to, is told so.
        # (The click sends the choice at once; Bob's typing takes far longer than it takes to arrive.)
        alice.find_element(By.ID, "staff-only-messages").click()
        assert alice.find_element(By.ID, "staff-only-messages").is_selected()
        bob.find_element(By.ID, "direct-composer").send_keys("are you still there?\n")
        wait_for_text(bob, "direct", "Not sent: they take private messages only from counsellors and people they write to")
        assert "are you still there?" not in alice.find_element(By.ID, "direct").text
        alice.find_element(By.ID, "staff-only-messages").click()
        bob.find_element(By.ID, "direct-composer").send_keys("one more thing\n")
        wait_for_text(alice, "direct", "one more thing")
        # The refused message was never stored: Bob's page gave its number back, so Alice is not
        # told that a message was withheld from her.
        assert "did not arrive" not in alice.find_element(By.ID, "direct").text, alice.find_element(By.ID, "direct").text
        print("  ok  a member who takes private messages only from counsellors is not written to by another member, and can open up again (no false 'withheld')")
        for driver in (alice, bob):
            close_drawer(driver)

        # An image and a PDF are encrypted in the browser, stored as ciphertext, and shown to Bob.
        png = pathlib.Path(server.folder) / "drawing.png"
        png.write_bytes(base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="))
        pdf = pathlib.Path(server.folder) / "leaflet.pdf"
        pdf.write_bytes(b"%PDF-1.4\n% a small leaflet\n%%EOF\n")
        alice.find_element(By.ID, "attach").send_keys(str(png))
        image = WebDriverWait(bob, 20).until(lambda d: d.find_element(By.CSS_SELECTOR, ".attachment img"))
        WebDriverWait(bob, 10).until(lambda d: d.execute_script("return arguments[0].naturalWidth", image) == 1)
        alice.find_element(By.ID, "attach").send_keys(str(pdf))
        WebDriverWait(bob, 20).until(lambda d: d.find_elements(By.XPATH, "//button[text()='Open leaflet.pdf']"))
        database = sqlite3.connect(pathlib.Path(server.folder) / "haven.sqlite")
        assert database.execute("SELECT COUNT(*) FROM blobs").fetchone() == (2,)
        parts = database.execute("SELECT data FROM blob_parts").fetchall()
        assert parts and all(b"PNG" not in data and b"%PDF" not in data for (data,) in parts), "the server holds only ciphertext"
        print("  ok  an image and a PDF round-trip encrypted; the server's copies are ciphertext")

        # A YouTube link is a click-to-load card: nothing is requested from a third party before
        # the click, and then only youtube-nocookie.com.
        for driver in browsers:
            driver.get_log("performance")
        alice.find_element(By.ID, "composer").send_keys("https://www.youtube.com/watch?v=dQw4w9WgXcQ\n")
        WebDriverWait(bob, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".video-card button"))
        time.sleep(0.5)
        assert hosts_requested(bob) <= {"127.0.0.1"}, "the card loaded something before the click"
        bob.find_element(By.CSS_SELECTOR, ".video-card button").click()
        frame = WebDriverWait(bob, 10).until(lambda d: d.find_element(By.CSS_SELECTOR, ".video-card iframe"))
        assert frame.get_attribute("src").startswith("https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ")
        time.sleep(0.5)
        assert hosts_requested(bob) <= {"127.0.0.1", "www.youtube-nocookie.com"}
        print("  ok  a YouTube link is a click-to-load card, then a youtube-nocookie embed")

        # A web address is a link that says it leaves the chat before anything is opened.
        alice.find_element(By.ID, "composer").send_keys("read https://example.org/help first\n")
        link = WebDriverWait(bob, 20).until(lambda d: d.find_element(By.CSS_SELECTOR, "#messages a[href='https://example.org/help']"))
        assert link.get_attribute("rel") == "noopener noreferrer"
        link.click()
        wait_for_text(bob, "messages", "This opens example.org, a page outside the chat.")
        bob.find_element(By.XPATH, "//button[text()='Stay here']").click()
        WebDriverWait(bob, 10).until(lambda d: "a page outside the chat" not in d.find_element(By.ID, "messages").text)
        assert "example.org" not in hosts_requested(bob), "the link opened without the member's say-so"
        print("  ok  a web address is a link that says it leaves the chat first, and opens only if asked")

        # A Swift HavenClient (`haven chat`) joins: a browser seals it the key, and they talk.
        swift = subprocess.Popen(
            [str(ROOT / ".build/debug/haven"), "chat", "--server", f"127.0.0.1:{server.port}", "--room", "lobby",
             "--name", "Swift Heron", "--say", "hello from Swift", "--seconds", "8",
             "--server-name", "haven", "--organisation-key", server.organisation_key],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for_text(alice, "messages", "hello from Swift", seconds=30)
        alice.find_element(By.ID, "composer").send_keys("hello to Swift from the browser\n")
        output, errors = swift.communicate(timeout=60)
        assert swift.returncode == 0, errors
        assert "(member): hello to Swift from the browser" in output, output
        print("  ok  a browser and the Swift HavenClient talk to each other")

        alice.save_screenshot(str(ROOT / "docs/screenshots/member-room.png"))

        database = pathlib.Path(server.folder) / "haven.sqlite"
        raw = database.read_bytes() + (database.with_name("haven.sqlite-wal").read_bytes() if database.with_name("haven.sqlite-wal").exists() else b"")
        assert marker.encode() not in raw, "plaintext reached the server's database"
        assert b"just between us" not in raw, "a private message reached the server's database in the clear"
        print("  ok  the server's database holds no plaintext")

        # What the browsers sent is padded to its bucket, and a private message is stored without
        # its sender (docs/crypto.md, "Padding" and "Direct messages").
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
            envelopes = [json.loads(row[0]) for row in db.execute("SELECT envelope FROM room_messages")]
            directs = [json.loads(row[0]) for row in db.execute("SELECT message FROM direct_messages")]
            sizes = [row[0] for row in db.execute("SELECT size FROM blobs")]
        assert envelopes and directs and len(sizes) >= 2
        for envelope in envelopes:
            length = len(base64.urlsafe_b64decode(envelope["ciphertext"] + "==")) - 16
            assert padded_size(length) == length, f"a room message of {length} bytes is not padded to its bucket"
        for message in directs:
            assert "sender" not in message, "a private message was stored with its sender"
            length = len(base64.urlsafe_b64decode(message["sealed"] + "==")) - 48
            assert length >= 1024 and padded_size(length, 1024) == length, f"a private message of {length} bytes is not padded to its bucket"
        # Each file (at most a few hundred bytes here) is one bucket of 256 bytes plus one chunk's 17.
        assert set(sizes) == {256 + 17}, f"attachments stored with sizes {sizes}, not their padded size"
        print("  ok  room messages, private messages and files are stored padded to their buckets, private ones without their sender")

        hosts = hosts_requested(alice)
        assert hosts <= {"127.0.0.1"}, f"requests to third parties: {hosts}"
        print("  ok  no request left this origin without a click")

        alice.find_element(By.ID, "crisis-toggle").click()
        assert alice.find_element(By.ID, "crisis").is_displayed()
        assert "Samaritans: 116 123" in alice.find_element(By.ID, "crisis").text
        print("  ok  the provider's crisis contacts open in one tap")
        assert alice.find_element(By.ID, "service-name").text == "Riverside Support"
        assert "Be kind to each other." in alice.find_element(By.ID, "rules").get_attribute("textContent")
        assert not alice.find_elements(By.CSS_SELECTOR, "#rooms button[data-room='staff-only']"), "a room the provider hides"
        print("  ok  the provider's name, rules and room choice are applied")

        # A counsellor redeems an invite in a third browser; members see them as verified staff.
        link = invite_link(server)
        counsellor = browser()
        browsers.append(counsellor)
        counsellor.get(link)
        press_start(counsellor, "Ana")
        wait_verified(counsellor)
        enter_lobby(counsellor)
        WebDriverWait(counsellor, 30).until(lambda d: d.find_element(By.ID, "composer").is_enabled())
        counsellor.find_element(By.ID, "composer").send_keys("I am here to help\n")
        wait_for_text(bob, "messages", "I am here to help")
        line = [item for item in bob.find_elements(By.CSS_SELECTOR, "#messages li") if "I am here to help" in item.text][0]
        assert "counsellor ✓" in line.text, line.text
        print("  ok  three browsers: a counsellor redeems an invite and members see the verified badge")

        # The counsellor deletes a member's message and suspends another; both browsers reflect it.
        alice.find_element(By.ID, "composer").send_keys("a message to remove\n")
        wait_for_text(counsellor, "messages", "a message to remove")
        wait_for_text(bob, "messages", "a message to remove")
        target = [item for item in counsellor.find_elements(By.CSS_SELECTOR, "#messages li") if "a message to remove" in item.text][0]
        counsellor.save_screenshot(str(ROOT / "docs/screenshots/counsellor-room.png"))
        moderate(counsellor, target, "Delete")
        for driver, told in ((alice, "A moderator removed your message. Reason: Harassing other members"), (bob, "A moderator removed this message.")):
            WebDriverWait(driver, 20).until(lambda d: "a message to remove" not in d.find_element(By.ID, "messages").text)
            wait_for_text(driver, "messages", told)   # the sender is told why; the others only that it went
        hello = [item for item in counsellor.find_elements(By.CSS_SELECTOR, "#messages li") if "hello back" in item.text][0]
        moderate(counsellor, hello, "Suspend 1 h")
        wait_for_text(bob, "status", "a moderator paused your posting. Reason: Harassing other members")
        assert not bob.find_element(By.ID, "composer").is_enabled()
        print("  ok  a counsellor deletes a message and suspends a member; both browsers reflect it")

        # Alice reports Bob's private message; the counsellor's browser verifies the report.
        reported = alice.find_element(By.XPATH, "//ol[@class='thread-messages']/li[contains(., 'just between us')]")
        open_drawer(alice)   # private messages are in the sheet
        reported.find_element(By.XPATH, ".//button[text()='Report']").click()
        reported.find_element(By.XPATH, ".//button[text()='Harassment or abuse']").click()
        WebDriverWait(alice, 10).until(lambda d: "Thank you" in reported.text, "the report was not confirmed")
        close_drawer(alice)
        open_drawer(counsellor)
        assert accessibility_violations(counsellor) == [], accessibility_violations(counsellor)
        counsellor.find_element(By.ID, "load-reports").click()
        wait_for_text(counsellor, "reports", "from Calm Heron member (message")
        assert "verified: exactly what this sender signed" in counsellor.find_element(By.ID, "reports").text
        assert "just between us" in counsellor.find_element(By.ID, "reports").text
        print("  ok  a reported private message is verified in the counsellor's browser")

        counsellor.find_element(By.ID, "load-audit").click()
        try:
            wait_for_text(counsellor, "audit", "Ana deleted a message by", seconds=10)
        except AssertionError as unanswered:
            # Once, in CI, the first request showed nothing (cause not found): report what the page
            # showed, then ask again as a person would; a second silence fails the test.
            print(f"  note: {unanswered}; the server's log:\n{''.join(server.log[-20:])}  asking again", file=sys.stderr)
            counsellor.execute_script("document.getElementById('load-audit').click()")
            wait_for_text(counsellor, "audit", "Ana deleted a message by")
        assert "SIGNATURE INVALID" not in counsellor.find_element(By.ID, "audit").text
        audit = counsellor.find_element(By.ID, "audit").text
        assert "Ana suspended Calm Heron Reason: Harassing other members." in audit, audit   # service-wide actions too, with their reasons
        print("  ok  the counsellor sees the room's audit trail with signatures checked")

        # Removing Bob moves the room to a new key that only Alice and the counsellor receive.
        close_drawer(counsellor)
        row = [item for item in counsellor.find_elements(By.CSS_SELECTOR, "#messages li") if "hello back" in item.text][0]
        readers = counsellor.find_element(By.ID, "readers").text
        moderate(counsellor, row, "Remove")   # asks first, with a reason
        wait_for_text(bob, "status", "A moderator removed you from this room. Reason: Harassing other members")
        # Bob is out of the counsellor's verified log, and the room has a key he was not given.
        WebDriverWait(counsellor, 30).until(lambda d: d.find_element(By.ID, "readers").text != readers, "the removal never reached the log")
        WebDriverWait(counsellor, 30).until(lambda d: d.find_element(By.ID, "composer").is_enabled())
        counsellor.find_element(By.ID, "composer").send_keys("after the removal\n")
        wait_for_text(alice, "messages", "after the removal")
        time.sleep(1)
        assert "after the removal" not in bob.find_element(By.ID, "messages").text
        print("  ok  a removed member's browser gets no key for what is said next; the others carry on")

        # Alice's browser is closed: the counsellor's "here now" says so at once, not at the next key.
        readers = counsellor.find_element(By.ID, "readers").text
        browsers.remove(alice)
        alice.quit()
        WebDriverWait(counsellor, 30).until(lambda d: d.find_element(By.ID, "readers").text != readers, f"still '{readers}' after Alice left")
        assert "1 here now" in counsellor.find_element(By.ID, "readers").text, counsellor.find_element(By.ID, "readers").text
        print("  ok  who is here now is counted again as soon as someone leaves")
        print("widget tests passed")
    except BaseException:
        print("the server's log, last 40 lines:\n" + "".join(server.log[-40:]), file=sys.stderr)
        raise
    finally:
        for driver in browsers:
            driver.quit()
        server.stop()


if __name__ == "__main__":
    sys.exit(main())

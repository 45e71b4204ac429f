"""Browsers talk through a server that lies (lying_server.py in front of the real `haven serve`):
it invents a member and forges a join, swaps a room key, shows one member another history,
replays a message, and holds back the log from a member. Each browser refuses the lie or says so in the room.

Run: python3 Tests/Web/test_lying_server.py (after Scripts/build-sodium-wasm.sh and a debug build).
"""
import os
import sys
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from harness import ROOT, Server, browser, enter_lobby, member_id, open_drawer, press_start, wait_for_text, wait_signed_in
from lying_server import LyingServer

sys.path.insert(0, str(ROOT / "Tests" / "CrossCheck"))
import haven_reference as ref  # noqa: E402
import room_log_reference as log_ref  # noqa: E402


def member_in_lobby(url: str, name: str):
    """A new member's browser at `url`, in the lobby, holding its key."""
    driver = browser()
    driver.get(url)
    press_start(driver, name)
    wait_signed_in(driver)
    enter_lobby(driver, usable=False)   # a liar may keep the key from it
    wait_for_text(driver, "status", "in Lobby")
    return driver


def composer_ready(driver, seconds=30):
    WebDriverWait(driver, seconds).until(lambda d: d.find_element(By.ID, "composer").is_enabled())


def say(driver, text):
    driver.find_element(By.ID, "composer").send_keys(text + "\n")


class LogWatcher:
    """Follows the log entries the liar passes to each member, so it can forge the next one."""

    def __init__(self):
        self.last = {}

    def saw(self, member, frame):
        entries = frame.get("entries", []) if frame.get("type") == "logEntries" else [frame["entry"]] if frame.get("type") == "logEntry" else []
        for entry in entries:
            if member and entry["seq"] >= self.last.get(member, {"seq": -1})["seq"]:
                self.last[member] = entry

    def next_position(self, member):
        last = self.last[member]
        return last["seq"] + 1, ref.b64(log_ref.entry_hash(last))


def main():
    server = Server()
    liar = LyingServer(server.port, server.organisation_key)
    watcher = LogWatcher()
    ghost = ref.Identity(os.urandom(32))
    browsers = []
    try:
        def follow(member, frame):
            watcher.saw(member, frame)
            return [frame]
        liar.to_members = follow

        # 1. A ghost: the liar announces a member nobody admitted and forges a join in a real
        # key's name. Alice's browser seals the key to neither, and says the forged entry does not
        # check out; a real member who joins is sealed the key as usual.
        alice = member_in_lobby(liar.page, "Quiet Otter")
        browsers.append(alice)
        composer_ready(alice)
        alice_id = member_id(alice)
        seq, previous = watcher.next_position(alice_id)
        stranger = ref.Identity(os.urandom(32))
        forged = log_ref.sign_entry({"room": "lobby", "seq": seq, "previous": previous, "kind": "join"}, ghost)
        forged["author"] = ref.b64(stranger.public)
        liar.inject({"v": 1, "type": "memberJoined", "room": "lobby", "holdsKey": False,
                     "member": {"member": ref.b64(ghost.public), "displayName": "Kind Owl"}}, alice_id)
        liar.inject({"v": 1, "type": "logEntry", "entry": forged}, alice_id)
        wait_for_text(alice, "messages", "does not check out")
        bob = member_in_lobby(server.page, "Calm Heron")
        browsers.append(bob)
        composer_ready(bob)
        recipients = {bundle["recipient"] for bundle in liar.bundles_sent()}
        assert member_id(bob) in recipients, "Alice's browser seals the key to a real member"
        assert ref.b64(ghost.public) not in recipients and ref.b64(stranger.public) not in recipients, "a ghost got the key"
        print("  ok  a member the server invents, or a join it forges, gets no key; the forgery is shown")

        # 2. A swapped key: the liar replaces the key sealed to Carol with one of its own. Her
        # browser refuses it (it does not open the epoch's signed commitment) and waits for the real one.
        held = []

        def swap(member, frame):
            watcher.saw(member, frame)
            bundle = frame.get("bundle") if frame.get("type") == "keyBundle" else None
            if bundle and bundle["sealer"] != bundle["recipient"] and bundle["recipient"] == member:
                held.append(frame)
                return [{"v": 1, "type": "keyBundle", "bundle": ref.seal_bundle(os.urandom(32), bundle["room"], bundle["epoch"],
                                                                               ref.unb64(bundle["recipient"]), ghost)}]
            return [frame]
        liar.to_members = swap
        carol = member_in_lobby(liar.page, "Gentle Fox")
        browsers.append(carol)
        wait_for_text(carol, "messages", "does not match the room's signed key")
        assert not carol.find_element(By.ID, "composer").is_enabled(), "Carol has no key to send with"
        liar.to_members = follow
        for frame in held:
            liar.inject(frame, member_id(carol))
        composer_ready(carol)
        marker = f"only the real key opens this {os.getpid()}"
        say(bob, marker)
        wait_for_text(carol, "messages", marker)
        print("  ok  a swapped room key is refused, and the real one taken when it comes")

        # 3. A fork: from now on the liar shows Carol the join of an identity of its own where the
        # room got Dave's. When Bob speaks, Carol's browser sees his log differs from hers.
        def fork(member, frame):
            watcher.saw(member, frame)
            if member == member_id(carol) and frame.get("type") == "logEntry" and frame["entry"]["kind"] == "join":
                entry = frame["entry"]
                swapped = log_ref.sign_entry({"room": entry["room"], "seq": entry["seq"], "previous": entry["previous"], "kind": "join"}, ghost)
                return [{"v": 1, "type": "logEntry", "entry": swapped}]
            return [frame]
        liar.to_members = fork
        dave = member_in_lobby(server.page, "Steady Wren")
        browsers.append(dave)
        composer_ready(dave)
        say(bob, "does everyone see the same room?")
        wait_for_text(carol, "messages", "differs from another member")
        print("  ok  a member shown another history than the room's is warned of the fork")

        # 4. A replay: the liar delivers Bob's next message to Carol twice, under a new cursor.
        def replay(member, frame):
            watcher.saw(member, frame)
            if member == member_id(carol) and frame.get("type") == "message":
                return [frame, {**frame, "cursor": frame["cursor"] + 1000}]
            return [frame]
        liar.to_members = replay
        echo = f"said once {os.getpid()}"
        say(bob, echo)
        wait_for_text(carol, "messages", echo)
        time.sleep(0.5)
        shown = [item for item in carol.find_elements(By.CSS_SELECTOR, "#messages li") if echo in item.text]
        assert len(shown) == 1, f"a replayed message was shown {len(shown)} times"
        print("  ok  a replayed message is shown once")
        # 5. A forged moderation: the liar tells Carol a moderator deleted Bob's message and
        # suspended her, signed by its own key. Her browser checks the signature and the
        # moderator's proof: nothing changes.
        target = [item for item in carol.find_elements(By.CSS_SELECTOR, "#messages li") if echo in item.text][0]
        for fields in ({"kind": "deleteMessage", "room": "lobby", "target": member_id(bob), "message": target.get_attribute("data-id")},
                       {"kind": "suspend", "target": member_id(carol), "until": int(time.time()) + 3600}):
            forged = log_ref.sign_action({"id": ref.b64(os.urandom(16)), "issuedAt": int(time.time()), **fields}, ghost)
            liar.inject({"v": 1, "type": "moderated", "action": forged, "by": {"member": ref.b64(ghost.public), "displayName": "Moderator"}},
                        member_id(carol))
        # Bob's next message reaches Carol after the forgeries: by then her browser has judged them.
        say(bob, "after the forgeries")
        wait_for_text(carol, "messages", "after the forgeries")
        assert echo in carol.find_element(By.ID, "messages").text, "a forged deletion hid a message"
        assert carol.find_element(By.ID, "composer").is_enabled() and "suspended" not in carol.find_element(By.ID, "status").text
        print("  ok  a forged deletion or suspension changes nothing")

        # 6. A held-back log: from now on the liar gives Erin no more of the room's log. When Dave
        # leaves for good, the others start a new key without him; Erin, sealed a key for an epoch
        # her log does not have, stops sending and is told.
        erin = member_in_lobby(liar.page, "Bright Robin")
        browsers.append(erin)
        composer_ready(erin)
        erin_id = member_id(erin)

        def hold_back(member, frame):
            watcher.saw(member, frame)
            return [] if member == erin_id and frame.get("type") in ("logEntry", "epochChanged") else [frame]
        liar.to_members = hold_back
        open_drawer(dave)
        dave.find_element(By.ID, "forget").click()
        dave.find_element(By.ID, "forget-yes").click()
        wait_for_text(erin, "messages", "have not reached you", seconds=30)
        WebDriverWait(erin, 10).until(lambda d: not d.find_element(By.ID, "composer").is_enabled())
        print("  ok  a member from whom the server holds back the log stops sending and is told")
        carol.execute_script("document.querySelector('#messages li.warning').scrollIntoView()")
        carol.save_screenshot(str(ROOT / "docs/screenshots/lying-server-warnings.png"))

        # 7. The server says a newcomer's login could not be recorded (its database away for a
        # moment): the page says so in its own words, not the server's, and asks nothing of them.
        members = {member_id(driver) for driver in browsers}

        def refuse_login(member, frame):
            if frame.get("type") == "welcome" and member not in members:
                return [{"v": 1, "type": "error", "code": "store_failed", "message": "login could not be recorded; try again"}]
            return hold_back(member, frame)
        liar.to_members = refuse_login
        fay = browser()
        browsers.append(fay)
        fay.get(liar.page)
        press_start(fay, "Gentle Wren")
        wait_for_text(fay, "status", "The service is busy for a moment. Nothing you wrote is lost")
        assert "login could not be recorded" not in fay.find_element(By.TAG_NAME, "body").text
        print("  ok  a login the server could not record is told in the page's words")
        print("lying server tests passed")
    except BaseException:
        print("the server's log, last 40 lines:\n" + "".join(server.log[-40:]), file=sys.stderr)
        raise
    finally:
        for driver in browsers:
            driver.quit()
        liar.stop()
        server.stop()


if __name__ == "__main__":
    sys.exit(main())

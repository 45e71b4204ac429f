"""Nothing a member types is lost or shown twice: a burst the rate limit slows arrives whole and in
order, and a server restart mid-conversation is ridden out (the widget reconnects by itself, sends
what was typed while the server was away, exactly once, and resumes where it was).

Run: python3 Tests/Web/test_never_lose_a_word.py (after Scripts/build-sodium-wasm.sh and a debug build).
"""
import sqlite3
import sys
import threading

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from harness import Server, browser, enter_lobby, message_action, open_drawer, press_start, wait_for_text, wait_signed_in
from lying_server import LyingServer


def member_in_lobby(driver, server, name):
    driver.get(server.page)
    press_start(driver, name)
    wait_signed_in(driver)
    enter_lobby(driver)
    wait_for_text(driver, "status", "in Lobby")
    WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "composer").is_enabled())


def texts(driver):
    return [item.find_element(By.CSS_SELECTOR, ".text").text for item in driver.find_elements(By.CSS_SELECTOR, "#messages li[data-id]")]


def state_of(driver, text):
    items = [item for item in driver.find_elements(By.CSS_SELECTOR, "#messages li[data-id]") if item.find_element(By.CSS_SELECTOR, ".text").text == text]
    return items[0].find_element(By.CSS_SELECTOR, ".state").text if items else None


def thread_text(driver):
    return driver.find_element(By.ID, "direct").get_attribute("textContent")


def main():
    server = Server()
    browsers = []
    try:
        alice, bob = browser(), browser()
        browsers += [alice, bob]
        member_in_lobby(alice, server, "Quiet Otter")
        member_in_lobby(bob, server, "Calm Heron")
        here = "return document.querySelector(\"#rooms button[data-room='lobby']\").textContent"
        WebDriverWait(alice, 20).until(lambda d: d.execute_script(here) == "Lobby (2 here)", "the room's button does not count who is here")
        print("  ok  a room's button counts who is here, kept current")

        # A new member types twelve lines at once; new identities may send 8 at once, then 1 a second.
        lines = [f"line {number}" for number in range(1, 13)]
        composer = alice.find_element(By.ID, "composer")
        for line in lines:
            composer.send_keys(line + "\n")
        WebDriverWait(bob, 90).until(lambda d: "line 12" in texts(d), "the twelfth line never reached the other member")
        assert texts(bob) == lines, texts(bob)
        WebDriverWait(alice, 30).until(lambda d: all(state_of(d, line) == "sent" for line in lines), "not every line shows as sent")
        print("  ok  a burst the rate limit slows arrives whole and in order, each line marked sent once stored")

        # A text too long for one message stays in the box with a word on why; nothing is sent.
        alice.execute_script("document.getElementById('composer').value = 'x'.repeat(17000)")
        alice.find_element(By.ID, "composer").send_keys("\n")
        wait_for_text(alice, "status", "too long to send in one go")
        assert len(alice.find_element(By.ID, "composer").get_attribute("value")) == 17000, "the long text was not kept"
        alice.execute_script("document.getElementById('composer').value = ''")
        print("  ok  a text too long for one message is kept in the box and not sent")

        # The server restarts, its records restored from a backup older than both members, so it
        # asks them the proof of work of new identities; meanwhile Alice writes. Nothing is lost
        # and nothing doubles.
        def write_while_away():
            with sqlite3.connect(server.folder + "/haven.sqlite") as database:
                database.execute("DELETE FROM members")
            database.close()
            wait_for_text(alice, "connection-bar", "Reconnecting")
            alice.find_element(By.ID, "composer").send_keys("written while the server was away\n")
            WebDriverWait(alice, 10).until(lambda d: "waiting for the connection" in (state_of(d, "written while the server was away") or ""))
        server.restart(then=write_while_away)
        WebDriverWait(bob, 60).until(lambda d: "written while the server was away" in texts(d), "the message typed offline never arrived")
        WebDriverWait(alice, 30).until(lambda d: state_of(d, "written while the server was away") == "sent")
        WebDriverWait(bob, 30).until(lambda d: not d.find_element(By.ID, "connection-bar").is_displayed())
        bob.find_element(By.ID, "composer").send_keys("and after the restart\n")
        wait_for_text(alice, "messages", "and after the restart", seconds=30)
        for driver in browsers:
            shown = texts(driver)
            assert len(shown) == len(set(shown)), f"a message is shown twice: {shown}"
            assert shown[:12] == lines and "written while the server was away" in shown and "and after the restart" in shown, shown
        print("  ok  a server restart that forgot both members: both pages reconnect by themselves, with a proof of work, and the message typed meanwhile arrives once")
        # A refusal is said next to the message in plain words, and it is not shown as sent. (The
        # liar turns the server's acknowledgement of one message into the refusal a suspended member
        # gets: the real one needs a moderator's timing.)
        liar = LyingServer(server.port, server.organisation_key)
        try:
            refused_ids = set()

            def note_first_message(member, frame):
                if frame.get("type") == "send" and not refused_ids:
                    refused_ids.add(frame["envelope"]["id"])
                return [frame]

            def refuse_it(member, frame):
                if frame.get("type") == "ack" and frame.get("id") in refused_ids:
                    return [{"v": 1, "type": "error", "code": "suspended", "message": "you are suspended for now", "id": frame["id"]}]
                return [frame]
            carol = browser()
            browsers.append(carol)
            member_in_lobby(carol, liar, "Gentle Fox")
            liar.to_server = note_first_message
            liar.to_members = refuse_it
            carol.find_element(By.ID, "composer").send_keys("a message the service refuses\n")
            WebDriverWait(carol, 20).until(lambda d: (state_of(d, "a message the service refuses") or "").startswith("Not sent: a moderator has paused your posting"))
            assert "failed" in carol.find_element(By.CSS_SELECTOR, "#messages li.mine .state").get_attribute("class")
            print("  ok  a refused message says why, next to it, and is not shown as sent")

            # Carol writes Bob a burst of private messages as a new member: the rate limit slows
            # them, and they still arrive in order, with no warning of messages withheld or replayed.
            liar.to_server = liar.to_members = lambda member, frame: [frame]
            row = [item for item in carol.find_elements(By.CSS_SELECTOR, "#messages li[data-id]") if "and after the restart" in item.text][0]
            message_action(row, "Message privately")
            # (The server's own limit turns some back too; the liar makes sure the fourth is, at once,
            # whatever the machine's speed, by answering for the server.)
            directs = []

            def slow_the_fourth(member, frame):
                if frame.get("type") != "direct":
                    return [frame]
                directs.append(frame["message"]["id"])
                if len(directs) == 4:
                    refusal = {"v": 1, "type": "error", "code": "rate_limited", "message": "slow down", "id": directs[-1]}
                    threading.Thread(target=liar.inject, args=(refusal, member)).start()   # not from the liar's own loop
                    return []
                return [frame]
            liar.to_server = slow_the_fourth
            burst = [f"private line {number}" for number in range(1, 13)]
            for line in burst:
                carol.find_element(By.ID, "direct-composer").send_keys(line + "\n")
            WebDriverWait(bob, 90).until(lambda d: "private line 12" in thread_text(d), "the burst of private messages never arrived whole")
            shown = [item.get_attribute("textContent") for item in bob.find_elements(By.CSS_SELECTOR, "#direct .thread-messages li .text")]
            assert [line for line in shown if "private line" in line] == burst, shown
            assert "⚠" not in thread_text(bob), f"a burst slowed by the rate limit was taken for messages withheld: {thread_text(bob)}"
            print("  ok  a burst of private messages the rate limit slows arrives in order, with no false warning")

            # Carol's device remembers her. A private message that had not reached the server when
            # the page was reloaded is sent after the reload, exactly once, and only then marked sent.
            carol.find_element(By.ID, "remember").click()
            wait_for_text(carol, "remember-note", "This device remembers you")
            # A message the service swallows (no answer at all) does not hold back the next one
            # for long: it is said to be unconfirmed, and goes again later.
            swallowed = []

            def swallow_one(member, frame):
                if frame.get("type") == "direct" and not swallowed:
                    swallowed.append(frame["message"]["id"])
                    return []
                return [frame]
            liar.to_server = swallow_one
            carol.find_element(By.ID, "direct-composer").send_keys("swallowed by the service\n")
            carol.find_element(By.ID, "direct-composer").send_keys("and the one after it\n")
            WebDriverWait(bob, 60).until(lambda d: "and the one after it" in thread_text(d), "a message never confirmed held back the next one")
            WebDriverWait(carol, 10).until(lambda d: "You: swallowed by the service not confirmed yet" in thread_text(d),
                                           "the swallowed message is not said to be unconfirmed")
            print("  ok  a private message the service never confirms is said to be unconfirmed, and the next one still goes")
            liar.to_server = lambda member, frame: [] if frame.get("type") == "direct" else [frame]
            carol.find_element(By.ID, "direct-composer").send_keys("typed just before a reload\n")
            WebDriverWait(carol, 10).until(lambda d: "You: typed just before a reload sending" in d.find_element(By.ID, "direct").text)
            liar.to_server = lambda member, frame: [frame]
            carol.refresh()
            WebDriverWait(carol, 20).until(lambda d: d.find_element(By.ID, "remember").is_selected())
            press_start(carol)
            WebDriverWait(bob, 30).until(lambda d: "typed just before a reload" in thread_text(d), "the message typed before the reload was lost")
            WebDriverWait(carol, 30).until(lambda d: "You: typed just before a reload sent" in thread_text(d),
                                           "the message sent after the reload is not marked sent")
            assert thread_text(bob).count("typed just before a reload") == 1, thread_text(bob)
            WebDriverWait(bob, 30).until(lambda d: "swallowed by the service" in thread_text(d), "the unconfirmed message never went again")
            assert thread_text(bob).count("swallowed by the service") == 1, thread_text(bob)
            # It came late, after the one behind it: Bob was told one was missing, not that one was replayed.
            assert "went backwards" not in thread_text(bob), thread_text(bob)
            print("  ok  a private message not yet sent when the page reloads goes after the reload, once, and only then shows as sent")

            # So is a room message: shown again after the reload, sent then, exactly once, under the
            # counter it was first sealed with (the others see no gap, so no warning).
            warnings_before = bob.find_element(By.ID, "messages").text.count("⚠")
            enter_lobby(carol)
            WebDriverWait(carol, 30).until(lambda d: d.find_element(By.ID, "composer").is_enabled())
            liar.to_server = lambda member, frame: [] if frame.get("type") == "send" else [frame]
            carol.find_element(By.ID, "composer").send_keys("room line typed before a reload\n")
            WebDriverWait(carol, 10).until(lambda d: state_of(d, "room line typed before a reload") == "sending…")
            liar.to_server = lambda member, frame: [frame]
            carol.refresh()
            WebDriverWait(carol, 20).until(lambda d: d.find_element(By.ID, "remember").is_selected())
            press_start(carol)
            wait_signed_in(carol)
            enter_lobby(carol)
            WebDriverWait(bob, 30).until(lambda d: "room line typed before a reload" in texts(d), "the room message typed before the reload was lost")
            WebDriverWait(carol, 30).until(lambda d: state_of(d, "room line typed before a reload") == "sent",
                                           "the room message sent after the reload is not marked sent")
            assert texts(bob).count("room line typed before a reload") == 1, texts(bob)
            assert texts(carol).count("room line typed before a reload") == 1, texts(carol)
            carol.find_element(By.ID, "composer").send_keys("and one after the reload\n")
            WebDriverWait(bob, 30).until(lambda d: "and one after the reload" in texts(d), "the message after the reload never arrived")
            assert texts(bob)[-2:] == ["room line typed before a reload", "and one after the reload"], texts(bob)
            assert bob.find_element(By.ID, "messages").text.count("⚠") == warnings_before, bob.find_element(By.ID, "messages").text
            print("  ok  a room message not yet sent when the page reloads is shown again after the reload, goes once, and only then shows as sent")

            # Carol takes private messages only from counsellors and people she writes to. After
            # another reload (her new connection has written to nobody), Bob, whom she wrote to
            # before it, may still answer her: her page tells the server whom it wrote to.
            open_drawer(carol)
            carol.find_element(By.ID, "staff-only-messages").click()
            assert carol.find_element(By.ID, "staff-only-messages").is_selected()
            carol.refresh()
            WebDriverWait(carol, 20).until(lambda d: d.find_element(By.ID, "remember").is_selected())
            press_start(carol)
            WebDriverWait(carol, 20).until(lambda d: d.find_element(By.ID, "staff-only-messages").is_selected())
            open_drawer(bob)
            thread = [item for item in bob.find_elements(By.CSS_SELECTOR, "#direct .thread") if "Gentle Fox" in item.text][0]
            thread.find_element(By.CSS_SELECTOR, ".reply").click()
            bob.find_element(By.ID, "direct-composer").send_keys("still here for you\n")
            WebDriverWait(carol, 30).until(lambda d: "still here for you" in thread_text(d),
                                           f"Bob's answer did not reach Carol after her reload: {thread_text(bob)}")
            assert "Not sent" not in thread_text(bob), thread_text(bob)
            print("  ok  a conversation a member started goes on after a reload, with private messages only from counsellors and people she wrote to")
        finally:
            liar.stop()
        print("never-lose-a-word tests passed")
    except BaseException:
        print("the server's log, last 40 lines:\n" + "".join(server.log[-40:]), file=sys.stderr)
        raise
    finally:
        for driver in browsers:
            driver.quit()
        server.stop()


if __name__ == "__main__":
    sys.exit(main())

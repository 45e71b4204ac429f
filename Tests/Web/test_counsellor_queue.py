"""A counsellor one tap away, with two browsers: before Start a member sees whether counsellors are
online (and when they usually are, when none is), taps "Talk to a counsellor", and waits in line
with their place shown; the counsellor's page chimes, counts in the tab title and lists them; "Talk
now" opens a private thread both ways, with the counsellor's role verified on the member's device.
A member reporting a message with "I'm worried about this person" alerts the counsellor at once.

Run: python3 Tests/Web/test_counsellor_queue.py (after Scripts/build-sodium-wasm.sh and a debug build).
"""
import sys

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from harness import ROOT, Server, accessibility_violations, browser, enter_lobby, invite_link, message_action, open_drawer, press_start, wait_for_text, wait_signed_in, wait_verified


def main():
    server = Server('opening_hours = "every evening, 6 pm to 2 am"\n')
    member, counsellor = browser(), browser()
    try:
        member.set_window_size(390, 844)     # a member on a phone
        counsellor.set_window_size(1280, 800)   # a counsellor at a desk: the line and the conversations side by side
        member.get(server.page)
        wait_for_text(member, "availability", "usually here every evening, 6 pm to 2 am")
        print("  ok  before Start, with nobody online, a member reads when counsellors are usually here")

        counsellor.get(invite_link(server))
        press_start(counsellor, "Ana")
        wait_verified(counsellor)
        enter_lobby(counsellor)
        assert not counsellor.find_element(By.ID, "help-strip").is_displayed(), "staff do not queue for themselves"
        # The member's page asks again every 30 seconds before Start; a reload asks at once.
        member.refresh()
        wait_for_text(member, "availability", "1 counsellor online now")
        assert accessibility_violations(member) == [], accessibility_violations(member)
        print("  ok  before Start the member sees that a counsellor is online")

        # One tap, before Start: the session starts and the member is put in line.
        member.find_element(By.ID, "ask-counsellor").click()
        wait_for_text(member, "availability", "You're next to talk to a counsellor")
        assert member.find_element(By.ID, "leave-queue").is_displayed(), "a waiting member can stop waiting"
        name = member.find_element(By.ID, "pseudonym").get_attribute("value")
        wait_for_text(counsellor, "queue", name)
        wait_for_text(counsellor, "queue-title", "1 person is waiting to talk to a counsellor")
        WebDriverWait(counsellor, 10).until(lambda d: d.title.startswith("(1) "), "the tab title does not count the waiting member")
        assert accessibility_violations(counsellor) == [], accessibility_violations(counsellor)
        counsellor.save_screenshot(str(ROOT / "docs/screenshots/counsellor-queue.png"))
        print("  ok  the member waits in line with their place shown; the counsellor's page lists them and counts them in the title")

        counsellor.find_element(By.CSS_SELECTOR, "#queue button.take").click()
        wait_for_text(member, "availability", "Ana (counsellor ✓) is coming to talk with you")   # the server's word, until she writes
        wait_for_text(member, "direct", "Ana is a verified counsellor")
        WebDriverWait(counsellor, 10).until(lambda d: d.execute_script("return document.activeElement.id") == "direct-composer",
                                            "the counsellor's private message box does not open")
        wait_for_text(counsellor, "queue-title", "Nobody is waiting")
        WebDriverWait(counsellor, 10).until(lambda d: not d.title.startswith("("), "the title still counts a member who was taken")
        counsellor.find_element(By.ID, "direct-composer").send_keys("Hi, I'm Ana. I'm here with you. How are you doing tonight?\n")
        wait_for_text(member, "direct", "How are you doing tonight?")
        wait_for_text(member, "availability", "Ana (counsellor ✓) is with you now")   # her own signed words arrived
        wait_for_text(counsellor, "direct", "How are you doing tonight? sent")
        assert counsellor.find_element(By.ID, "direct").text.count("How are you doing tonight?") == 1, "the counsellor's first message shows twice"
        thread = member.find_element(By.CSS_SELECTOR, "#direct .thread h3")
        assert "counsellor ✓" in thread.text, thread.text
        WebDriverWait(member, 10).until(lambda d: d.execute_script("return document.activeElement.id") == "direct-composer",
                                        "the member's private message box is not ready to answer")
        member.find_element(By.ID, "direct-composer").send_keys("Not great, thank you for coming\n")
        wait_for_text(counsellor, "direct", "Not great, thank you for coming")
        member.save_screenshot(str(ROOT / "docs/screenshots/phone-counsellor-with-you.png"))
        enter_lobby(member)   # back in the room, the counsellor is one tap away
        member.find_element(By.ID, "open-counsellor").click()
        WebDriverWait(member, 10).until(lambda d: d.execute_script("return document.activeElement.id") == "direct-composer",
                                        "'Open the conversation' does not open it")
        print("  ok  'Talk now' opens a private thread both ways, and the member's device verified the counsellor")

        # On a device that remembers the member, the conversation with the counsellor is still
        # there after a reload: what the member wrote (kept on the device) and what Ana wrote.
        member.find_element(By.ID, "remember").click()
        wait_for_text(member, "remember-note", "This device remembers you")
        member.refresh()
        press_start(member)
        wait_signed_in(member)
        open_drawer(member)
        wait_for_text(member, "direct", "You: Not great, thank you for coming")
        wait_for_text(member, "direct", "How are you doing tonight?")
        print("  ok  on a device that remembers the member, the private conversation survives a reload")

        # "I'm worried about this person" reaches the counsellor at once.
        enter_lobby(member)
        second = browser()
        try:
            second.get(server.page)
            press_start(second, "Grey Heron")
            enter_lobby(second)
            second.find_element(By.ID, "composer").send_keys("I don't know how much longer I can do this\n")
            wait_for_text(member, "messages", "how much longer")
            row = [item for item in member.find_elements(By.CSS_SELECTOR, "#messages li") if "how much longer" in item.text][0]
            message_action(row, "Report")
            WebDriverWait(member, 10).until(lambda d: "worried" in d.execute_script("return document.activeElement.textContent"),
                                            "the reasons do not take the focus")
            row.find_element(By.XPATH, ".//button[contains(., 'worried about this person')]").click()
            WebDriverWait(member, 10).until(lambda d: "Thank you" in row.text, "the report was not confirmed")
            wait_for_text(counsellor, "concerns", "Someone is worried about Grey Heron")
            counsellor.find_element(By.XPATH, "//ol[@id='concerns']//button[text()='Show the message']").click()
            WebDriverWait(counsellor, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#messages li.highlight"), "the message is not shown")
            # Staff's report inbox is live, and quotes the room message as the counsellor's page shows it.
            wait_for_text(counsellor, "reports", 'I\'m worried about this person: "I don\'t know how much longer I can do this" from Grey Heron')
            WebDriverWait(counsellor, 10).until(lambda d: d.title.startswith("("), "a new report is not counted in the tab title")
            print("  ok  'I'm worried about this person' alerts the counsellor, who is taken to the message; the live inbox quotes it")
        finally:
            second.quit()
        print("counsellor queue tests passed")
    except BaseException:
        print("the server's log, last 40 lines:\n" + "".join(server.log[-40:]), file=sys.stderr)
        raise
    finally:
        for driver in (member, counsellor):
            driver.quit()
        server.stop()


if __name__ == "__main__":
    sys.exit(main())

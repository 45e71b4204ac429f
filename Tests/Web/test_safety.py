"""Help and a way out, each one tap away: the crisis contacts open from the header (numbers are
tap-to-call links), and "quick exit" (its button, or Escape twice) replaces the page with a
neutral one that "back" does not undo.

Run: python3 Tests/Web/test_safety.py (after Scripts/build-sodium-wasm.sh and a debug build).
"""
import sys

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from harness import ROOT, Server, accessibility_violations, browser, press_start, wait_for_text, wait_signed_in


def main():
    server = Server('quick_exit_url = "/healthz"\n')
    driver = browser()
    try:
        driver.get(server.page)
        WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "start").is_enabled())
        assert accessibility_violations(driver) == [], accessibility_violations(driver)
        driver.find_element(By.ID, "crisis-toggle").click()
        link = WebDriverWait(driver, 10).until(lambda d: d.find_element(By.CSS_SELECTOR, "#crisis-contacts a"))
        assert link.get_attribute("href") == "tel:116123" and link.text == "116 123", link.get_attribute("href")
        assert not driver.find_element(By.ID, "crisis-general").is_displayed(), "the provider's own contacts are not called general"
        texting = driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            import("./safety.js").then(({ showCrisisContacts }) => {
              const list = document.createElement("ul"), note = document.createElement("p");
              showCrisisContacts(document, list, note, [{ name: "Shout", contact: "Text SHOUT to 85258" }], false);
              done(list.querySelector("a")?.getAttribute("href") ?? null);
            });""")
        assert texting == "sms:85258?&body=SHOUT", texting
        print("  ok  the crisis contacts open in one tap: a number is a tap-to-call link, 'Text WORD to NUMBER' a tap-to-text one")

        press_start(driver)
        wait_signed_in(driver)
        ActionChains(driver).send_keys(Keys.ESCAPE).perform()
        assert driver.current_url.startswith(server.url), "one Escape does nothing"
        ActionChains(driver).send_keys(Keys.ESCAPE).send_keys(Keys.ESCAPE).perform()
        WebDriverWait(driver, 10).until(lambda d: d.current_url == server.url + "healthz", "Escape twice did not leave the page")
        driver.back()
        assert "#org=" not in driver.current_url or not driver.find_elements(By.ID, "composer"), "back returned to the chat"
        print("  ok  Escape twice leaves at once for a neutral page, and back does not return to the chat")

        # On a phone, joining a room puts the conversation first, with the composer in view and focused.
        driver.set_window_size(390, 844)
        driver.get("about:blank")
        driver.get(server.page)
        press_start(driver)
        wait_signed_in(driver)
        # After Start the member lands in the default room, with the focus in the message box.
        wait_for_text(driver, "status", "in Lobby")
        WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "composer").is_enabled())
        WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.activeElement.id") == "composer", "the composer is not focused")
        box = driver.execute_script("const r = document.getElementById('composer').getBoundingClientRect(); return [r.top, r.bottom, innerHeight]")
        assert 0 <= box[0] and box[1] <= box[2], f"the composer is not in view on a phone: {box}"
        assert not driver.find_element(By.ID, "rooms").is_displayed(), "the room list gives way to the conversation"
        assert accessibility_violations(driver) == [], accessibility_violations(driver)
        driver.find_element(By.ID, "drawer-toggle").click()
        assert driver.find_element(By.ID, "rooms").is_displayed(), "rooms and settings open from the toggle"
        assert not driver.find_element(By.ID, "composer").is_displayed(), "on a phone the settings are a sheet over the chat"
        WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.activeElement.id") == "drawer-close",
                                        "focus does not move into the sheet")
        assert accessibility_violations(driver) == [], accessibility_violations(driver)
        driver.save_screenshot(str(ROOT / "docs/screenshots/phone-drawer.png"))
        driver.find_element(By.ID, "drawer-close").click()   # back to the chat: the room as it is used
        WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.activeElement.id") == "composer",
                                        "focus does not return to the message box")
        driver.find_element(By.ID, "composer").send_keys("Is anyone around tonight?\n")
        wait_for_text(driver, "messages", "Is anyone around tonight? sent")
        print("  ok  on a phone, joining a room shows the conversation with the composer in view and focused; axe-core finds nothing on the start, room and settings screens")

        # The main screen at phone and desktop sizes, light and dark (the device's choice), for the README.
        for width, height, kind in ((390, 844, "phone"), (1280, 800, "desktop")):
            driver.set_window_size(width, height)
            for scheme in ("light", "dark"):
                driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
                assert accessibility_violations(driver) == [], (kind, scheme, accessibility_violations(driver))
                driver.save_screenshot(str(ROOT / f"docs/screenshots/{kind}-room-{scheme}.png"))
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
        print("  ok  the room at phone and desktop sizes, light and dark: no axe-core findings; screenshots saved")

        driver.get("about:blank")
        driver.get(server.page)
        WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "quick-exit").is_displayed())
        driver.find_element(By.ID, "quick-exit").click()
        WebDriverWait(driver, 10).until(lambda d: d.current_url == server.url + "healthz", "the quick exit button did not leave the page")
        print("  ok  the quick exit button does the same")

        # Help and the way out do not wait for the encryption to load, and work when it never does
        # (a phone review found both dead for 15 s on a slow connection).
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*sodium.wasm"]})
        driver.get("about:blank")
        driver.get(server.page)
        wait_for_text(driver, "status", "The chat could not load")
        # The crisis help opens by itself, with the service's own contacts, which do not wait for
        # the encryption.
        assert driver.find_element(By.ID, "crisis").is_displayed(), "the crisis help is not open"
        wait_for_text(driver, "crisis-contacts", "116 123")
        driver.find_element(By.ID, "crisis-toggle").click()
        assert not driver.find_element(By.ID, "crisis").is_displayed(), "the crisis help does not close"
        driver.find_element(By.ID, "crisis-toggle").click()
        assert "112" in driver.find_element(By.ID, "crisis").text, driver.find_element(By.ID, "crisis").text
        driver.find_element(By.ID, "quick-exit").click()
        WebDriverWait(driver, 10).until(lambda d: d.current_url == server.url + "healthz", "the quick exit did nothing before the widget loaded")
        print("  ok  with the encryption module blocked, the page says so, the crisis help opens with the service's own contacts, and quick exit still works")

        # Nor do they wait for the page's words, or the code that shows the contacts: with all of
        # that blocked, the crisis panel (and its emergency numbers) opens and quick exit leaves.
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*strings*", "*page-words.js", "*safety.js", "*widget.js", "*sodium.wasm"]})
        driver.get("about:blank")
        driver.get(server.page)
        WebDriverWait(driver, 10).until(lambda d: d.execute_script("document.getElementById('crisis-toggle').click(); return !document.getElementById('crisis').hidden"),
                                        "the crisis button did nothing without the page's words")
        assert "112" in driver.find_element(By.ID, "crisis").text, driver.find_element(By.ID, "crisis").text
        driver.find_element(By.ID, "quick-exit").click()
        WebDriverWait(driver, 10).until(lambda d: d.current_url.startswith("https://www.google.com") or d.current_url == server.url + "healthz",
                                        "quick exit did nothing without the page's words")
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
        print("  ok  with the page's words and the chat's code blocked too, the crisis panel opens and quick exit leaves")

        # A browser that prefers Spanish gets the widget in Spanish, the crisis help and quick exit included.
        spanish = browser(language="es")
        try:
            spanish.get(server.page)
            WebDriverWait(spanish, 20).until(lambda d: d.find_element(By.ID, "start").is_enabled())
            assert spanish.find_element(By.ID, "start").text == "Empezar", spanish.find_element(By.ID, "start").text
            assert spanish.execute_script("return document.documentElement.lang") == "es"
            assert spanish.find_element(By.ID, "crisis-toggle").text == "¿En crisis? Ayuda ya"
            assert spanish.find_element(By.ID, "quick-exit").text == "Salida rápida"
            wait_for_text(spanish, "availability", "no hay nadie del equipo de consejería en línea")
            assert accessibility_violations(spanish) == [], accessibility_violations(spanish)
            press_start(spanish)
            wait_signed_in(spanish)
            wait_for_text(spanish, "status", "en Lobby")   # the default room, in Spanish words
        finally:
            spanish.quit()
        print("  ok  a browser that prefers Spanish gets the widget in Spanish, with no axe-core findings")
        print("safety tests passed")
    except BaseException:
        print("the server's log, last 40 lines:\n" + "".join(server.log[-40:]), file=sys.stderr)
        raise
    finally:
        driver.quit()
        server.stop()


if __name__ == "__main__":
    sys.exit(main())

"""The widget's trust anchors do not come from the chat server: the organisation key is pinned by
the page (the embedding snippet's fragment), the server must sign in under the pinned name, an
invite's secret leaves the address bar at once, and a member's identity is kept only if they ask.

Run: python3 Tests/Web/test_trust_anchors.py (after Scripts/build-sodium-wasm.sh and a debug build).
"""
import sys

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from harness import Server, browser, invite_link, member_id, wait_for_text


def start(driver, url, name):
    driver.get("about:blank")   # a new document, even where only the fragment differs
    driver.get(url)
    field = driver.find_element(By.ID, "pseudonym")
    field.clear()
    field.send_keys(name)
    driver.find_element(By.ID, "start").click()


def enter_lobby(driver):
    WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#rooms button[data-room='lobby']"))
    driver.find_element(By.CSS_SELECTOR, "#rooms button[data-room='lobby']").click()
    wait_for_text(driver, "status", "in lobby")
    WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "composer").is_enabled())


def line_with(driver, text):
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
        wait_for_text(impostor, "status", "verified counsellor")
        start(member, server.page, "Quiet Otter")
        wait_for_text(member, "status", "connected")
        for driver in browsers:
            enter_lobby(driver)
        impostor.find_element(By.ID, "composer").send_keys("trust me, I am staff\n")
        assert "counsellor ✓" in line_with(impostor, "trust me, I am staff"), "the swapped key's own page shows its badge"
        shown = line_with(member, "trust me, I am staff")
        assert "counsellor ✓" not in shown and "member" in shown, shown
        real = server.haven("keys", "show", "--keys", server.folder + "/Keys").split("organisation fingerprint: ")[1].splitlines()[0]
        assert real in member.find_element(By.ID, "organisation").text, "the page shows the pinned key's fingerprint"
        print("  ok  a swapped organisation.pub yields no badge in a browser that pins the real key")
    finally:
        for driver in browsers:
            driver.quit()
        server.stop()


def main():
    swapped_organisation_key_gives_no_badge()
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
        wait_for_text(driver, "status", "connected")
        first = member_id(driver)
        assert driver.execute_script("return localStorage.length") == 0, "nothing written to localStorage"
        driver.refresh()
        WebDriverWait(driver, 20).until(lambda d: member_id(d) and member_id(d) != first)
        print("  ok  a reload without \"remember me\" starts a new identity and left nothing in localStorage")

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

# How soon help is there on a slow phone connection: over 5 cold loads of the widget in Chromium
# throttled to 300 ms latency, 50 KB/s down and 20 KB/s up, the median time from navigation start
# until a tap on "In crisis? Get help now" opens the crisis panel, and until Start is usable.
#   python3 Scripts/bench-help-on-slow-network.py
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "Tests/Web"))
from harness import Server, browser  # noqa: E402

TAP_UNTIL_OPEN = """
    document.getElementById('crisis-toggle')?.click();
    const panel = document.getElementById('crisis');
    return panel && !panel.hidden ? performance.now() : null;"""
START_USABLE = "const start = document.getElementById('start'); return start && !start.disabled ? performance.now() : null;"


def wait_for(driver, script, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        moment = driver.execute_script(script)
        if moment is not None:
            return moment / 1000
        time.sleep(0.02)
    raise AssertionError(f"not within {seconds} s: {script.strip()[:60]}")


def main():
    server = Server()
    driver = browser()
    crisis, start = [], []
    try:
        for _ in range(5):
            driver.get("about:blank")
            driver.set_network_conditions(latency=300, download_throughput=50 * 1024, upload_throughput=20 * 1024)
            driver.get(server.page)
            crisis.append(wait_for(driver, TAP_UNTIL_OPEN))
            start.append(wait_for(driver, START_USABLE))
    finally:
        driver.quit()
        server.stop()
    print(f"crisis panel opens on a tap: median {statistics.median(crisis):.2f} s (runs: {', '.join(f'{x:.2f}' for x in crisis)})")
    print(f"Start usable:                median {statistics.median(start):.2f} s (runs: {', '.join(f'{x:.2f}' for x in start)})")


if __name__ == "__main__":
    main()

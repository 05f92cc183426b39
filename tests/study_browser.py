#!/usr/bin/python3
"""The study page in a real browser (headless Chromium through Selenium).

Usage: study_browser.py PERCEPTCL SOURCE_DIR WORK_DIR

Makes a small 2AFC study and a small ranking study from data/Set5 (three
"methods": the image, and bicubic down-and-up by 2 and by 4), completes each
as two simulated participants (clicks and the keyboard for 2AFC, drag and
drop, arrow keys and Move buttons for ranking; one reload mid-way; one failed
catch trial), collects the downloaded (and POSTed) results, runs
`perceptcl study analyze` and checks its counts and proportions against the
choices made here. Writes a screenshot of each screen type to
WORK_DIR/screenshots/ and checks accessibility basics: every image has alt
text, every control a name, no positive tabindex, focus order and keyboard
use. Exits 77 (skipped) when Chromium, chromedriver or Selenium is missing
(tools/install-deps.sh installs them).
"""
import http.server
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time

SKIP = 77
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def skip(reason):
    print("SKIP: " + reason + " (tools/install-deps.sh installs chromium, chromium-driver, python3-selenium)")
    sys.exit(SKIP)


try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
except ImportError as e:
    skip("Selenium is not installed (%s)" % e)
for program in (CHROMIUM, CHROMEDRIVER):
    if not os.access(program, os.X_OK):
        skip(program + " is missing")

PERCEPTCL, SOURCE, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL: " + message)


def run(*args, expect=0):
    p = subprocess.run([PERCEPTCL] + list(args), capture_output=True, text=True)
    if p.returncode != expect:
        print(p.stdout + p.stderr)
        raise SystemExit("perceptcl %s: exit %d, expected %d" % (" ".join(args), p.returncode, expect))
    return p


def close(a, b, tol=1e-4):
    return a is not None and not math.isnan(a) and abs(a - b) <= tol


# ---- study material: three methods from Set5 ----------------------------------
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
downloads = os.path.join(WORK, "downloads")
shots = os.path.join(WORK, "screenshots")
os.makedirs(downloads)
os.makedirs(shots)
for d in ("original", "sharp", "blur2", "blur4", "tmp"):
    os.makedirs(os.path.join(WORK, "material", d))
for name in ("baby", "bird", "butterfly"):
    src = os.path.join(SOURCE, "data", "Set5", name + ".png")
    m = os.path.join(WORK, "material")
    shutil.copy(src, os.path.join(m, "original", name + ".png"))
    shutil.copy(src, os.path.join(m, "sharp", name + ".png"))
    for k in (2, 4):
        small = os.path.join(m, "tmp", "%s-%d.png" % (name, k))
        run("resize", "--scale", str(1.0 / k), src, small)
        run("resize", "--scale", str(k), small, os.path.join(m, "blur%d" % k, name + ".png"))
material = os.path.join(WORK, "material")
run("study", "items", "--original", material + "/original", "--method", "sharp=" + material + "/sharp",
    "--method", "blur4=" + material + "/blur4", "--out", material + "/items2.json")
run("study", "items", "--original", material + "/original", "--method", "sharp=" + material + "/sharp",
    "--method", "blur2=" + material + "/blur2", "--method", "blur4=" + material + "/blur4",
    "--out", material + "/items3.json")
# The ranking study uses the first two items only.
items3 = json.load(open(material + "/items3.json"))
items3["items"] = items3["items"][:2]
json.dump(items3, open(material + "/items3.json", "w"))


# ---- a local server that records POSTs ---------------------------------------
posted = []


class Recorder(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        posted.append(json.loads(body))
        self.send_response(200)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
threading.Thread(target=server.serve_forever, daemon=True).start()
post_url = "http://127.0.0.1:%d/results" % server.server_address[1]

study2 = os.path.join(WORK, "study-2afc")
study3 = os.path.join(WORK, "study-rank")
run("study", "make", "--items", material + "/items2.json", "--out", study2, "--mode", "2afc", "--catch", "1",
    "--break-every", "2", "--crop", "48", "--zoom", "3", "--seed", "7", "--post-url", post_url)
run("study", "make", "--items", material + "/items3.json", "--out", study3, "--mode", "rank", "--catch", "1",
    "--crop", "48", "--zoom", "3")
plan2 = json.load(open(study2 + "/plan.json"))
plan3 = json.load(open(study3 + "/plan.json"))
check(len(plan2["trials"]) == 4 and len(plan3["trials"]) == 3, "trial counts of the plans")


def method_of(plan, src):
    """The method whose image a src names ("original" for the original)."""
    base = src.split("/")[-1]
    for item in plan["items"]:
        if item["original"].endswith(base):
            return "original", item["id"]
        for method, path in item["images"].items():
            if path.endswith(base):
                return method, item["id"]
    raise SystemExit("unknown image " + src)


# ---- the browser --------------------------------------------------------------
options = webdriver.ChromeOptions()
options.binary_location = CHROMIUM
for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1400,1000", "--allow-file-access-from-files"):
    options.add_argument(argument)
options.add_experimental_option("prefs", {"download.default_directory": downloads,
                                          "download.prompt_for_download": False})
try:
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
except Exception as e:  # a Chromium that cannot start here (no display libraries, ...)
    skip("Chromium does not start: %s" % str(e).splitlines()[0])
driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
driver.implicitly_wait(0)
taken = set()


def screenshot(name):
    if name not in taken:
        taken.add(name)
        driver.save_screenshot(os.path.join(shots, name + ".png"))


def screen():
    """The id of the visible screen."""
    return driver.execute_script(
        "var s = document.querySelector('.screen:not([hidden])'); return s ? s.id : null;")


def wait_for(condition, what, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise SystemExit("timed out waiting for " + what + " (screen: %s)" % screen())


def active_id():
    return driver.execute_script("var a = document.activeElement; return a ? (a.id || a.tagName) : null;")


ACCESSIBILITY = """
var problems = [];
document.querySelectorAll('img').forEach(function (img) {
  if (!img.closest('[hidden]') && !(img.getAttribute('alt') || '').trim()) problems.push('img without alt: ' + img.src);
});
document.querySelectorAll('button, input, select, textarea').forEach(function (el) {
  if (el.closest('[hidden]')) return;
  var name = (el.getAttribute('aria-label') || '').trim() || (el.textContent || '').trim();
  if (el.id && document.querySelector('label[for="' + el.id + '"]')) name = name || 'label';
  if (!name) problems.push('control without a name: ' + (el.id || el.outerHTML.slice(0, 60)));
});
document.querySelectorAll('[tabindex]').forEach(function (el) {
  if (parseInt(el.getAttribute('tabindex'), 10) > 0) problems.push('positive tabindex: ' + el.id);
});
var visible = document.querySelector('.screen:not([hidden])');
if (!visible || !visible.querySelector('h1')) problems.push('screen without a heading');
if (!document.documentElement.lang) problems.push('no lang attribute');
return problems;
"""


def accessible(where):
    problems = driver.execute_script(ACCESSIBILITY)
    check(not problems, "accessibility on %s: %s" % (where, problems))


def results_file(plan, participant):
    path = os.path.join(downloads, "perceptcl-results-%s-%s.json" % (plan["study"], participant))
    wait_for(lambda: os.path.exists(path) and os.path.getsize(path) > 0, "the download of " + path)
    time.sleep(0.2)
    return path


def open_study(study, participant=None):
    url = "file://" + study + "/index.html" + ("?participant=" + participant if participant else "")
    driver.get(url)


def start_typed(participant):
    """The welcome screen, with the ID typed and submitted with Enter."""
    wait_for(lambda: screen() == "screen-welcome", "the welcome screen")
    screenshot("welcome")
    accessible("the welcome screen")
    field = driver.find_element(By.ID, "participant")
    label = driver.find_element(By.CSS_SELECTOR, "label[for=participant]")
    check(label.text.strip() == "Participant ID", "the ID field's label")
    field.send_keys("bad id!" + Keys.ENTER)
    check(screen() == "screen-welcome" and driver.find_element(By.ID, "participant-error").is_displayed(),
          "an invalid ID is refused with a message")
    field.clear()
    field.send_keys(participant + Keys.ENTER)


def begin_trials():
    wait_for(lambda: screen() == "screen-instructions", "the instructions")
    screenshot("instructions")
    accessible("the instructions")
    check(active_id() == "instructions-title", "focus on the instructions heading, not %s" % active_id())
    check(not driver.find_element(By.ID, "progress-line").is_displayed(), "no progress bar on the instructions")
    # Keyboard: Tab to the Begin button, Enter.
    driver.switch_to.active_element.send_keys(Keys.TAB)
    check(active_id() == "begin", "Tab from the heading reaches Begin, not %s" % active_id())
    driver.switch_to.active_element.send_keys(Keys.ENTER)


# ---- 2AFC ----------------------------------------------------------------------
def do_2afc(participant, prefer, use_keyboard, fail_catch, reload_after=None, typed=False):
    """Completes the 2AFC study; prefer(item) is the method chosen. Returns what was chosen."""
    if typed:
        open_study(study2)
        start_typed(participant)
    else:
        open_study(study2, participant)
    begin_trials()
    chosen = []
    total = len(plan2["trials"])
    while len(chosen) < total:
        s = wait_for(lambda: screen() if screen() in ("screen-2afc", "screen-break") else None, "a trial")
        if s == "screen-break":
            screenshot("break")
            accessible("the break screen")
            if use_keyboard:
                driver.switch_to.active_element.send_keys(Keys.TAB)
                check(active_id() == "continue", "Tab from the break heading reaches Continue, not %s" % active_id())
                driver.switch_to.active_element.send_keys(Keys.ENTER)
            else:
                driver.find_element(By.ID, "continue").click()
            continue
        wait_for(lambda: driver.find_element(By.ID, "progress-text").text == "Trial %d of %d" % (len(chosen) + 1, total),
                 "progress 'Trial %d of %d'" % (len(chosen) + 1, total))
        left = method_of(plan2, driver.find_element(By.ID, "image-left").get_attribute("src"))
        right = method_of(plan2, driver.find_element(By.ID, "image-right").get_attribute("src"))
        middle = method_of(plan2, driver.find_element(By.ID, "image-middle").get_attribute("src"))
        check(middle[0] == "original" and left[1] == right[1] == middle[1], "a 2AFC triplet: original in the middle")
        item = left[1]
        if "original" in (left[0], right[0]):  # the catch trial
            other = right[0] if left[0] == "original" else left[0]
            want = other if fail_catch else "original"
        else:
            want = prefer(item)
        side = 0 if left[0] == want else 1
        if not taken.__contains__("2afc"):
            screenshot("2afc")
            accessible("the 2AFC screen")
            check(driver.find_element(By.ID, "progress-line").is_displayed(), "the progress bar on a trial")
            check(active_id() == "twoafc-title", "focus on the 2AFC heading, not %s" % active_id())
            driver.switch_to.active_element.send_keys(Keys.TAB)
            first = active_id()
            driver.switch_to.active_element.send_keys(Keys.TAB)
            check((first, active_id()) == ("choose-left", "choose-right"),
                  "Tab order on the 2AFC screen: %s, %s" % (first, active_id()))
            driver.execute_script("document.getElementById('twoafc-title').focus();")
        if use_keyboard:
            driver.switch_to.active_element.send_keys("f" if side == 0 else "j")
        else:
            driver.find_element(By.ID, "choose-left" if side == 0 else "choose-right").click()
        chosen.append((item, want))
        wait_for(lambda: len(chosen) == total or screen() != "screen-2afc" or
                 driver.find_element(By.ID, "progress-text").text != "Trial %d of %d" % (len(chosen), total),
                 "the next trial")
        if reload_after is not None and len(chosen) == reload_after:
            driver.refresh()
            wait_for(lambda: screen() == "screen-2afc", "the resumed trial after a reload")
            check(driver.find_element(By.ID, "progress-text").text == "Trial %d of %d" % (len(chosen) + 1, total),
                  "after a reload the study resumes at trial %d" % (len(chosen) + 1))
    wait_for(lambda: screen() == "screen-done", "the end screen")
    screenshot("done")
    accessible("the end screen")
    return chosen


sharp_always = lambda item: "sharp"
baby_blurred = lambda item: "blur4" if item == "baby" else "sharp"
p1 = do_2afc("p1", sharp_always, use_keyboard=False, fail_catch=False, reload_after=2)
p1_file = results_file(plan2, "p1")
p2 = do_2afc("p2", baby_blurred, use_keyboard=True, fail_catch=True, typed=True)
p2_file = results_file(plan2, "p2")
for path, participant, chosen in ((p1_file, "p1", p1), (p2_file, "p2", p2)):
    r = json.load(open(path))
    check(r["participant"] == participant and len(r["trials"]) == 4, "%s: 4 responses saved" % participant)
    got = sorted((t["item"], t["choice"]) for t in r["trials"])
    check(got == sorted(chosen), "%s: the saved choices are the ones made: %s vs %s" % (participant, got, chosen))
    sides = [t["shown"].index("sharp") for t in r["trials"] if not t["catch"]]
    check(abs(sides.count(0) - sides.count(1)) <= 1, "%s: sides balanced: sharp left/right %s" % (participant, sides))
    check(all(t["side"] == ("left", "right")[t["shown"].index(t["choice"])] for t in r["trials"]),
          "%s: the side recorded is the side of the choice" % participant)
    check(all(t["rt_ms"] >= 0 for t in r["trials"]), "response times recorded")
wait_for(lambda: len(posted) == 2, "the two POSTs")
check(sorted(p["participant"] for p in posted) == ["p1", "p2"], "the results were POSTed")
check([t["choice"] for t in posted[0]["trials"]] ==
      [t["choice"] for t in json.load(open(os.path.join(downloads, "perceptcl-results-%s-%s.json" % (
          plan2["study"], posted[0]["participant"]))))["trials"]], "the POSTed results equal the downloaded ones")
# Kept in localStorage after the end.
stored = driver.execute_script("return localStorage.getItem('perceptcl-study/%s/p1');" % plan2["study"])
check(stored is not None and len(json.loads(stored)["responses"]) == 4, "the results are kept in localStorage")


# ---- ranking -------------------------------------------------------------------
def rank_order():
    return driver.execute_script(
        "return Array.prototype.map.call(document.querySelectorAll('#rank-list li'), "
        "function (li) { return li.dataset.method; });")


def do_rank(participant, wanted, how):
    """Completes the ranking study; wanted(catch) is the order to give; how: drag, keys or buttons."""
    open_study(study3, participant)
    begin_trials()
    done = []
    total = len(plan3["trials"])
    while len(done) < total:
        wait_for(lambda: screen() == "screen-rank" and
                 driver.find_element(By.ID, "progress-text").text == "Trial %d of %d" % (len(done) + 1, total),
                 "ranking trial %d" % (len(done) + 1))
        methods = rank_order()
        is_catch = "original" in methods
        target = wanted(methods)
        if "rank" not in taken:
            screenshot("rank")
            accessible("the ranking screen")
            driver.switch_to.active_element.send_keys(Keys.TAB)
            check(active_id() == "rank-item-0", "Tab from the heading reaches the first image, not %s" % active_id())
        for position, method in enumerate(target):
            current = rank_order()
            j = current.index(method)
            if j == position:
                continue
            items = driver.find_elements(By.CSS_SELECTOR, "#rank-list li")
            if how == "drag":
                ActionChains(driver).drag_and_drop(items[j], items[position]).perform()
            elif how == "keys":
                for _ in range(j - position):
                    items = driver.find_elements(By.CSS_SELECTOR, "#rank-list li")
                    li = items[rank_order().index(method)]
                    driver.execute_script("arguments[0].focus();", li)
                    li.send_keys(Keys.ARROW_UP)
            else:
                for _ in range(j - position):
                    items = driver.find_elements(By.CSS_SELECTOR, "#rank-list li")
                    items[rank_order().index(method)].find_element(By.CSS_SELECTOR, ".move-up").click()
        check(rank_order() == target, "%s: the list was put in order by %s: %s, wanted %s" % (
            participant, how, rank_order(), target))
        labels = driver.execute_script(
            "return Array.prototype.map.call(document.querySelectorAll('#rank-list li'), "
            "function (li) { return li.getAttribute('aria-label'); });")
        check(labels[0].endswith("ranked 1st (most like the original)"), "rank labels follow the order: %s" % labels)
        done.append((is_catch, target))
        button = driver.find_element(By.ID, "submit-rank")
        if how == "keys":
            driver.execute_script("arguments[0].focus();", button)
            button.send_keys(Keys.ENTER)
        else:
            button.click()
        wait_for(lambda: screen() == "screen-done" or len(done) == total or
                 driver.find_element(By.ID, "progress-text").text == "Trial %d of %d" % (len(done) + 1, total),
                 "the next ranking trial")
    wait_for(lambda: screen() == "screen-done", "the end screen")
    return done


def r1_order(methods):
    return [m for m in ("original", "sharp", "blur2", "blur4") if m in methods]


def r2_order(methods):
    return [m for m in ("original", "blur2", "sharp", "blur4") if m in methods]


r1 = do_rank("r1", r1_order, "drag")
r1_file = results_file(plan3, "r1")
r2 = do_rank("r2", r2_order, "keys")
r2_file = results_file(plan3, "r2")
# A third ranking participant with the Move buttons; not analysed (shows the buttons work).
r3 = do_rank("r3", r2_order, "buttons")
driver.quit()
for path, participant, want in ((r1_file, "r1", r1_order), (r2_file, "r2", r2_order)):
    r = json.load(open(path))
    check(all(t["ranking"] == want(t["shown"]) for t in r["trials"]), "%s: the saved rankings" % participant)
    check(all(t["passed"] for t in r["trials"] if t["catch"]), "%s: the catch trial passed" % participant)


# ---- analysis ------------------------------------------------------------------
def analyze(study, files, *flags, expect=0):
    prefix = os.path.join(WORK, "report-%d" % len(os.listdir(WORK)))
    p = run("study", "analyze", "--study", study, "--report", prefix, *flags, *files, expect=expect)
    return (json.load(open(prefix + ".json")) if expect == 0 else None), p, prefix


def row(report, key, name):
    for r in report[key]:
        if r[{"comparisons": "comparison", "methods": "method", "items": "item"}[key]] == name:
            return r
    raise SystemExit("no row " + name)


# p2 failed the catch trial: left out by default.
report, p, prefix = analyze(study2, [p1_file, p2_file])
check(report["participants_included"] == 1, "p2 (failed catch trial) is left out by default")
c = row(report, "comparisons", "sharp over blur4")
check(c["judgments"] == 3 and close(c["results"]["result"]["proportion"], 1.0) and
      close(c["results"]["result"]["sign_test_p"], 0.25), "p1 alone: sharp 3 of 3, sign test 2/8: %s" % c)
for suffix in (".md", "-methods.svg", "-examples.svg"):
    check(os.path.getsize(prefix + suffix) > 200, "report file " + suffix)

# Both participants: sharp chosen 3 (p1) + 2 (p2) of 6.
report, p, prefix = analyze(study2, [p1_file, p2_file], "--max-catch-failures", "1")
c = row(report, "comparisons", "sharp over blur4")["results"]["result"]
check(row(report, "comparisons", "sharp over blur4")["judgments"] == 6 and close(c["proportion"], 5 / 6) and
      close(c["sign_test_p"], 2 * 7 / 64, 1e-9), "p1 + p2: sharp 5 of 6, sign test 2 * 7/64: %s" % c)
check(close(row(report, "items", "baby")["results"]["sharp"]["share"], 0.5) and
      close(row(report, "items", "bird")["results"]["sharp"]["share"], 1.0), "per-item shares")
# Agreement by hand: units baby (disagree), bird, butterfly (agree): pairwise 2/3; p(sharp) = 5/6,
# Pe = 26/36, kappa = (2/3 - 26/36) / (10/36) = -0.2.
check(close(report["agreement"]["pairwise"], 2 / 3) and close(report["agreement"]["fleiss_kappa"], -0.2),
      "agreement: %s" % report["agreement"])

# A duplicate and a malformed file: one line each, skipped, counts unchanged; --strict refuses.
duplicate = os.path.join(WORK, "copy-of-p1.json")
shutil.copy(p1_file, duplicate)
broken = os.path.join(WORK, "broken.json")
open(broken, "w").write('{"format": "perceptcl-study-results", "trials": [')
report, p, prefix = analyze(study2, [p1_file, p2_file, duplicate, broken], "--max-catch-failures", "1")
lines = [l for l in p.stderr.splitlines() if "skipped" in l]
check(len(lines) == 2 and "duplicate" in lines[0] and "not JSON" in lines[1], "one line per bad file: %s" % lines)
check(row(report, "comparisons", "sharp over blur4")["judgments"] == 6, "the duplicate is not counted twice")
_, p, prefix = analyze(study2, [p1_file, duplicate], "--strict", expect=1)
check(not os.path.exists(prefix + ".md") and "refused" in p.stderr, "--strict refuses and writes nothing")

# Ranking: r1 sharp > blur2 > blur4, r2 blur2 > sharp > blur4, on 2 items.
report, p, prefix = analyze(study3, [r1_file, r2_file])
check(report["participants_included"] == 2, "both rankers included")
sharp = row(report, "methods", "sharp")["results"]
blur4 = row(report, "methods", "blur4")["results"]
check(sharp["rank 1"]["count"] == 2 and sharp["rank 2"]["count"] == 2 and blur4["rank 3"]["count"] == 4,
      "rank distributions: %s %s" % (sharp, blur4))
check(close(row(report, "comparisons", "sharp over blur2")["results"]["result"]["proportion"], 0.5) and
      close(row(report, "comparisons", "sharp over blur4")["results"]["result"]["sign_test_p"], 0.125),
      "ranking comparisons")

print("screenshots: " + ", ".join(sorted(os.path.join(shots, f) for f in os.listdir(shots))))
check(taken >= {"welcome", "instructions", "2afc", "break", "rank", "done"}, "a screenshot of every screen: %s" % taken)
if failures:
    print("%d check(s) failed" % len(failures))
    sys.exit(1)
print("all browser checks passed")

"""From the LMS and back: Canvas's and Moodle's bulk downloads graded as downloaded, a
roster saying who is who and who submitted nothing, and the grades written into the LMS's
own gradebook file, every cell but the graded ones byte for byte as exported."""
import csv
import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from autograder import kit
from autograder.integrations.lms_export import records, splice
from autograder.submissions import lms, roster
from autograder.submissions.students import SubmissionProblem, find_students, fingerprint, unpack

from conftest import ACTIVATIONS, autograde

SOLUTION, BUG = ACTIVATIONS["alice"].read_bytes(), ACTIVATIONS["bob"].read_bytes()
WHEN = (2025, 3, 3, 9, 0, 0)


def make_zip(path: Path, entries) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name if isinstance(name, zipfile.ZipInfo) else zipfile.ZipInfo(name, WHEN), data)
    return path


def table(rows, line_end="\n", bom="") -> bytes:
    """A CSV from rows of raw cells (quoted as the LMS quotes them), so that the file a test
    expects is made independently of the code that writes it."""
    return (bom + "".join(",".join(row) + line_end for row in rows)).encode()


def with_cell(rows, column: int, values: dict[int, str]) -> list[list[str]]:
    return [[values[i] if j == column and i in values else cell for j, cell in enumerate(row)]
            for i, row in enumerate(rows)]


def with_column(rows, after: int, values: dict[int, str]) -> list[list[str]]:
    return [[*row[:after + 1], values.get(i, ""), *row[after + 1:]] for i, row in enumerate(rows)]


def expected_points(activations_graded: Path) -> dict[str, str]:
    """What `autograde` gives alice's and bob's activations.py as a plain class."""
    with open(activations_graded / "grades.csv") as stream:
        return {row["student"]: row["01_activations"] for row in csv.DictReader(stream)}


def one_line_error(run) -> str:
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


# --- Canvas ---------------------------------------------------------------------------------

# Canvas's gradebook export (lib/gradebook_exporter.rb): a custom column, a Manual Posting
# row, the Points Possible row, students by sortable name, the Student View's test student.
CANVAS_GRADEBOOK = [
    ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Notes", "Lab 1 (1234)", "Lab 2 (1235)",
     "Current Score", "Unposted Current Score", "Final Score", "Unposted Final Score"],
    ["", "", "", "", "", "", "Manual Posting", "", "", "", "", ""],
    ["    Points Possible", "", "", "", "", "", "48.00", "40.00", "(read only)", "(read only)",
     "(read only)", "(read only)"],
    ['"Builder, Bob"', "2002", "S2", "bbuilder", "Section 1", '"late again, ""sick"""', "", "35.00",
     "87.50", "87.50", "38.89", "38.89"],
    ['"Carroll, Carol"', "2003", "S3", "ccarroll", "Section 2", "", "", "N/A", "", "", "0.00", "0.00"],
    ['"Doe, Dana"', "2004", "S4", "ddoe", "Section 2", "", "EX", "40.00", "100.00", "100.00", "44.44", "44.44"],
    ['"Liddell, Alice"', "2001", "S1", "aliddell", "Section 1", "", "12.00", "40.00", "100.00", "100.00",
     "52.17", "52.17"],
    ['"Student, Test"', "2099", "", "", "Section 1", "", "", "", "", "", "", ""],
]
LAB1 = 6
ROW = {"bob": 3, "carol": 4, "dana": 5, "alice": 6, "test": 7}


@pytest.fixture(scope="module")
def canvas(tmp_path_factory):
    """Canvas's download (Bob late, his file renamed activations-1.py after an earlier
    upload of another one; Zed on no roster), the gradebook export as the roster, and
    `autograde` run on the zip as downloaded."""
    root = tmp_path_factory.mktemp("canvas")
    download = make_zip(root / "lab-1-activations submissions.zip", [
        ("liddellalice_2001_50001_activations.py", SOLUTION),
        ("builderbob_LATE_2002_50006_activations.py", SOLUTION),  # his earlier upload
        ("builderbob_LATE_2002_50007_activations-1.py", BUG),
        ("builderbob_LATE_2002_text.html", b"<p>sorry, late</p>"),
        ("strangerzed_2999_50011_activations.py", SOLUTION),
    ])
    gradebook = root / "gradebook.csv"
    gradebook.write_bytes(table(CANVAS_GRADEBOOK))
    run = autograde(download, "--roster", gradebook, "-a", "01_activations", "--out", root / "out")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return root, download, gradebook, run


def test_canvas_download_is_graded_as_downloaded(canvas, activations_graded):
    root, _, _, run = canvas
    points = expected_points(activations_graded)
    with open(root / "out" / "grades.csv") as stream:
        graded = {row["student"]: row["01_activations"] for row in csv.DictReader(stream)}
    # Known by the roster's ids; the later upload graded; those without a file graded 0.
    assert graded == {"2001": points["alice"], "2002": points["bob"], "2003": "0", "2004": "0",
                      "2999": points["alice"]}
    with open(root / "out" / "lms.csv") as stream:
        people = {row["student"]: row for row in csv.DictReader(stream)}
    assert {s: (p["status"], p["late"], p["name"]) for s, p in people.items()} == {
        "2001": ("submitted", "", "Liddell, Alice"), "2002": ("submitted", "LATE", "Builder, Bob"),
        "2003": ("no submission", "", "Carroll, Carol"), "2004": ("no submission", "", "Doe, Dana"),
        "2999": ("not on the roster", "", "strangerzed")}
    assert "2 student(s) on the roster submitted nothing (graded 0): Carroll, Carol (2003), Doe, Dana (2004)" in run.stdout
    assert "1 student(s) match no one on the roster: strangerzed (2999)" in run.stdout
    assert "1 submission(s) late by the LMS: Builder, Bob (2002) [LATE]" in run.stdout
    assert "an earlier upload of activations.py" in run.stdout
    page = (root / "out" / "2003" / "feedback.md").read_text()
    assert "no submission" in page
    assert json.loads((root / "out" / "2003" / "results.json").read_text())["score"] == 0
    # The same command again resumes: nothing in the download or the roster changed.
    again = autograde(*run.args[1:])
    assert again.returncode == 0 and "5 student(s) already graded" in again.stdout, again.stdout + again.stderr


def test_canvas_export_fills_the_column_and_nothing_else(canvas, activations_graded):
    root, _, gradebook, _ = canvas
    before = gradebook.read_bytes()
    run = autograde("export", "canvas", "--gradebook", gradebook, "--column", "Lab 1 (1234)", root / "out")
    assert run.returncode == 0, run.stdout + run.stderr
    assert gradebook.read_bytes() == before  # never written over
    points = expected_points(activations_graded)
    written = gradebook.with_name("gradebook-graded.csv").read_bytes()
    # Alice's old 12.00 replaced, Carol 0; Dana stays excused; the test student, the
    # Manual Posting and Points Possible rows, and every other column, as exported.
    assert written == table(with_cell(CANVAS_GRADEBOOK, LAB1, {
        ROW["alice"]: points["alice"], ROW["bob"]: points["bob"], ROW["carol"]: "0"}))
    assert "kept EX (excused) for 2004" in run.stdout
    assert "1 student(s) of the run are not in gradebook.csv: 2999" in run.stdout


def test_canvas_late_penalty_keeps_the_raw_score_beside_it(canvas, activations_graded):
    root, _, gradebook, _ = canvas
    out = root / "penalised.csv"
    run = autograde("export", "canvas", "--gradebook", gradebook, "--column", "Lab 1",
                    "--late-penalty", "10%/day", "--out", out, root / "out")
    assert run.returncode == 0, run.stdout + run.stderr
    points = expected_points(activations_graded)
    bob = float(points["bob"])
    rows = with_cell(CANVAS_GRADEBOOK, LAB1, {ROW["alice"]: points["alice"], ROW["carol"]: "0",
                                              ROW["bob"]: f"{round(bob * 0.9, 2):g}"})
    # Canvas's import passes over a column whose Points Possible cell says read only.
    rows = with_column(rows, LAB1, {0: "Lab 1: raw score before late penalty", 2: "(read only)",
                                    ROW["alice"]: points["alice"], ROW["bob"]: points["bob"],
                                    ROW["carol"]: "0"})
    assert out.read_bytes() == table(rows)
    assert "late penalty applied to 1: 2002 (1 day)" in run.stdout


# --- Moodle ---------------------------------------------------------------------------------

# Moodle's grading worksheet (mod/assign/gradingtable.php, downloaded; UTF-8 with a BOM).
MOODLE_WORKSHEET = [
    ["Identifier", '"Full name"', '"Email address"', "Status", "Grade", '"Maximum grade"',
     '"Grade can be changed"', '"Last modified (submission)"', '"Last modified (grade)"', '"Feedback comments"'],
    ['"Participant 910001"', '"Alice Liddell"', "alice@example.org", '"Submitted for grading"', "", "48.00",
     "Yes", '"Monday, 3 March 2025, 8:55 AM"', "-", ""],
    ['"Participant 910002"', '"Bob Builder"', "bob@example.org",
     '"Submitted for grading - 2 days 1 hour late"', "", "48.00", "Yes", '"Wednesday, 5 March 2025, 10:01 AM"',
     "-", ""],
    ['"Participant 910003"', '"Carol Carroll"', "carol@example.org", '"No submission"', "", "48.00", "Yes",
     "-", "-", ""],
    ['"Participant 910004"', '"Dana Doe"', "dana@example.org", '"No submission - Graded"', "20.00", "48.00", "Yes",
     "-", '"Friday, 7 March 2025, 4:00 PM"', '"see me"'],
]
GRADE = 4


@pytest.fixture(scope="module")
def moodle(tmp_path_factory):
    """Moodle's download (a folder per participant and plugin) and its grading worksheet."""
    root = tmp_path_factory.mktemp("moodle")
    download = make_zip(root / "CS101-Lab 1-123.zip", [
        ("Alice Liddell_910001_assignsubmission_file_/activations.py", SOLUTION),
        ("Bob Builder_910002_assignsubmission_file_/lab1/activations.py", BUG),
        ("Bob Builder_910002_assignsubmission_onlinetext_/onlinetext.html", b"<p>done</p>"),
    ])
    worksheet = root / "Grades-CS101-Lab 1-123.csv"
    worksheet.write_bytes(table(MOODLE_WORKSHEET, bom="\ufeff"))
    return root, download, worksheet


def test_moodle_download_and_worksheet_round_trip(moodle, activations_graded):
    root, download, worksheet = moodle
    run = autograde(download, "--roster", worksheet, "-a", "01_activations", "--out", root / "out")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Moodle's \"Download all submissions\" zip" in run.stdout
    assert "2 student(s) on the roster submitted nothing (graded 0): Carol Carroll (910003), " \
           "Dana Doe (910004)" in run.stdout
    assert "Bob Builder (910002) [2 days 1 hour late]" in run.stdout
    export = autograde("export", "moodle", "--worksheet", worksheet, root / "out")
    assert export.returncode == 0, export.stdout + export.stderr
    points = expected_points(activations_graded)
    written = worksheet.with_name("Grades-CS101-Lab 1-123-graded.csv").read_bytes()
    assert written == table(with_cell(MOODLE_WORKSHEET, GRADE, {
        1: points["alice"], 2: points["bob"], 3: "0", 4: "0"}), bom="\ufeff")

    penalised = autograde("export", "moodle", "--worksheet", worksheet, "--late-penalty", "10%/day",
                          "--out", root / "penalised.csv", root / "out")
    assert penalised.returncode == 0, penalised.stdout + penalised.stderr
    bob = float(points["bob"])  # 2 days and an hour late: three days begun, 30%
    rows = with_cell(MOODLE_WORKSHEET, GRADE, {1: points["alice"], 2: f"{round(bob * 0.7, 2):g}", 3: "0", 4: "0"})
    rows = with_column(rows, GRADE, {0: "Grade before late penalty", 1: points["alice"], 2: points["bob"],
                                     3: "0", 4: "0"})
    assert (root / "penalised.csv").read_bytes() == table(rows, bom="\ufeff")


def test_without_a_roster_students_absent_from_the_run_are_left_as_they_were(moodle, activations_graded, tmp_path):
    _, download, worksheet = moodle
    unzipped = tmp_path / "download" / "CS101-Lab 1-123"  # as an unzip tool wraps it
    with zipfile.ZipFile(download) as archive:
        archive.extractall(unzipped)
    run = autograde(tmp_path / "download", "-a", "01_activations", "--out", tmp_path / "out")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_dir()) == ["910001", "910002"]
    export = autograde("export", "moodle", "--worksheet", worksheet, "--out", tmp_path / "w.csv", tmp_path / "out")
    assert export.returncode == 0, export.stdout + export.stderr
    points = expected_points(activations_graded)
    assert (tmp_path / "w.csv").read_bytes() == table(
        with_cell(MOODLE_WORKSHEET, GRADE, {1: points["alice"], 2: points["bob"]}), bom="\ufeff")
    assert "2 other row(s) left as they were" in export.stdout


# --- bad input: one line, nothing changed -----------------------------------------------------

def test_an_export_column_that_does_not_exist_lists_those_that_do(canvas):
    root, _, gradebook, _ = canvas
    out = root / "never.csv"
    line = one_line_error(autograde("export", "canvas", "--gradebook", gradebook, "--column", "Lab 9",
                                    "--out", out, root / "out"))
    assert "no column 'Lab 9'" in line and "Lab 1 (1234), Lab 2 (1235)" in line
    assert not out.exists()
    line = one_line_error(autograde("export", "canvas", "--gradebook", gradebook, "--column", "Lab 1",
                                    "--out", gradebook, root / "out"))
    assert "is the export itself" in line


def test_a_worksheet_without_a_grade_column_is_refused(moodle, tmp_path, canvas):
    root, _, worksheet = moodle
    broken = tmp_path / "worksheet.csv"
    broken.write_bytes(table([[c for i, c in enumerate(row) if i != GRADE] for row in MOODLE_WORKSHEET]))
    line = one_line_error(autograde("export", "moodle", "--worksheet", broken, canvas[0] / "out"))
    assert "has no Grade column" in line and "Identifier" in line
    assert sorted(os.listdir(tmp_path)) == ["worksheet.csv"]


def test_a_roster_without_an_id_column_is_refused(canvas, tmp_path):
    _, download, _, _ = canvas
    (tmp_path / "roster.csv").write_text("name,email\nAlice Liddell,alice@example.org\n")
    line = one_line_error(autograde(download, "--roster", tmp_path / "roster.csv", "--out", tmp_path / "out"))
    assert "has no id column" in line and "name, email" in line
    assert not (tmp_path / "out").exists()


def test_two_submissions_claiming_one_student_are_refused(tmp_path):
    download = make_zip(tmp_path / "download.zip", [
        ("Alice Liddell_1_assignsubmission_file_/activations.py", SOLUTION),
        ("Alice Liddell_2_assignsubmission_file_/activations.py", BUG)])
    (tmp_path / "roster.csv").write_text("ID number,First name,Last name,Email address\nS1,Alice,Liddell,a@x.org\n")
    line = one_line_error(autograde(download, "--roster", tmp_path / "roster.csv", "--out", tmp_path / "out"))
    assert "two submissions claim Alice Liddell (S1)" in line
    assert not (tmp_path / "out").exists()


# --- the layouts, without grading --------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("doejane_LATE_12345_67890_activations.py", ("canvas", "12345", "doejane", True, "activations.py", 67890)),
    ("doejane_12345_67890_activations-1.py", ("canvas", "12345", "doejane", False, "activations.py", 67890)),
    ("o_brien_12_34_my_12_34_notes.ipynb", ("canvas", "12", "o_brien", False, "my_12_34_notes.ipynb", 34)),
    ("LATE_anon_k3J2d_67890_activations.py", ("canvas", "anon_k3J2d", "", True, "activations.py", 67890)),
    ("doejane_12345_text.html", ("canvas", "12345", "doejane", False, "", 0)),
    ("Jane Doe_123456_assignsubmission_file_/src/activations.py",
     ("moodle", "123456", "Jane Doe", False, "src/activations.py", 0)),
    ("Jane Doe_123456_assignsubmission_file_activations.py",
     ("moodle", "123456", "Jane Doe", False, "activations.py", 0)),
    ("activations.py", None), ("alice/activations.py", None),
])
def test_each_lms_names_files_its_own_way(name, expected):
    assert lms.classify(name) == expected


def test_an_unzipped_canvas_download_is_read_in_place(tmp_path):
    (tmp_path / "dl").mkdir()
    (tmp_path / "dl" / "doejane_12345_1_activations.py").write_bytes(SOLUTION)
    (tmp_path / "dl" / "roerichard_LATE_12346_2_activations-2.py").write_bytes(BUG)
    found, notes = find_students(tmp_path / "dl")
    assert [(s.student, s.kind, s.person.late) for s in found] == [("12345", "members", ""), ("12346", "members", "LATE")]
    folder = unpack(found[1], tmp_path / "work")
    assert (folder / "activations.py").read_bytes() == BUG
    before = fingerprint(found[1])
    (tmp_path / "dl" / "roerichard_LATE_12346_2_activations-2.py").write_bytes(SOLUTION)
    assert fingerprint(found[1]) != before


def test_a_hostile_file_refuses_its_students_submission_only(tmp_path):
    link = zipfile.ZipInfo("doejane_1_2_activations.py", WHEN)
    link.create_system, link.external_attr = 3, 0o120777 << 16
    download = make_zip(tmp_path / "dl.zip", [(link, "/etc/passwd"),
                                              ("roerichard_3_4_..\\..\\activations.py", SOLUTION),
                                              ("smithjohn_5_6_activations.py", SOLUTION)])
    found, _ = find_students(download)
    assert [s.student for s in found] == ["1", "3", "5"]
    for submission, reason in zip(found[:2], ("symbolic link", "leaves the archive")):
        with pytest.raises(SubmissionProblem, match=reason):
            unpack(submission, tmp_path / "work")
    assert (unpack(found[2], tmp_path / "work") / "activations.py").read_bytes() == SOLUTION
    assert sorted(os.listdir(tmp_path / "work")) == ["5"]


def test_rosters_are_read_in_each_lms_layout(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("LastName,FirstName,ID,SIS Login ID,Section\n    Points Possible,,,,\nDoe,Jane,12,jd,A\n")
    assert roster.read_roster(path) == [roster.Person(id="12", lms="canvas", lms_id="12", name="Doe, Jane",
                                                      section="A", other_ids=("jd",))]
    path.write_text("First name;Last name;ID number;Email address\nJane;Doe;;jane@x.org\n")
    assert [(p.id, p.lms, p.name) for p in roster.read_roster(path)] == [("jane@x.org", "moodle", "Jane Doe")]
    path.write_text("id,name\n1,A\n1,B\n")
    with pytest.raises(roster.RosterProblem, match="lists the id '1' twice"):
        roster.read_roster(path)
    assert roster.late_seconds("Submitted for grading - 1 day 2 hours late - Graded") == 93600


@pytest.mark.parametrize("text, delimiter", [
    ('\ufeffa,"b ""q"", c",\r\n"multi\nline",2,\n,,\n', ","),
    ("x;y\r\n1,5;\"2;3\"\r\n", ";"),
    ("x,y\n\xff\xfe,2", ","),  # not UTF-8: kept byte for byte
])
def test_the_lms_csv_reader_knows_every_field_where_it_is(text, delimiter):
    raw = text.encode("latin-1").decode("utf-8", "surrogateescape") if "\xff" in text else text
    rows = records(raw, delimiter)
    assert [[v for _, _, v in row] for row in rows] == list(csv.reader(io.StringIO(raw, newline=""),
                                                                        delimiter=delimiter))
    assert splice(raw, [(s, e, raw[s:e]) for row in rows for s, e, _ in row]) == raw

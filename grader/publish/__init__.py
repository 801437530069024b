"""Around grading: the web site, the student's JupyterLab, grade reports, the sample class, the benchmark."""

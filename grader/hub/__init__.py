"""The class on JupyterHub: one machine, a real hub, local accounts, nbgrader's exchange.

    python -m grader.hub setup | start | autograde | stop-servers ... (``--help``)

- ``classroom``: where everything lives (the class's folder, the instructor's course folder, the
  hub's state) and the class's record (``build/hub/class.json``);
- ``accounts``: local users for the instructor and the students of a roster CSV, with passwords;
- ``setup``: the exchange, the student environment, the course folder, the gradebook's students
  and due date, the sudo rule that lets the instructor run the trusted autograder;
- ``jupyterhub_config.py``: the hub (PAM login, each user's server in their environment as their
  uid, nbgrader's groups);
- ``__main__``: the command line (start the hub and stop it cleanly; grade from the instructor's
  terminal).
"""

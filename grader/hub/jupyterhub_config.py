"""JupyterHub for the class (``python -m grader.hub start`` runs ``jupyterhub -f`` this file, as root).

The class's record (build/hub/class.json, written by ``python -m grader.hub setup``) says who is in
it and where everything is; $GRADER_HUB_PORT overrides its port.

- PAM (JupyterHub's PAMAuthenticator): the class's local accounts log in with their passwords; only
  they are allowed.
- LocalProcessSpawner: each server runs as its user's uid, on 127.0.0.1; a student's in the student
  environment (no answer key), the instructor's in the course's .venv (formgrader, the course package).
- nbgrader's JupyterHub integration: the groups ``formgrade-<course>`` (the instructor) and
  ``nbgrader-<course>`` (the students); each server's token may read its own user's name and groups,
  which is what nbgrader's JupyterHubAuthPlugin asks the hub's API.
"""

import os

from grader.hub.classroom import Classroom

c = get_config()  # noqa: F821 -- injected by JupyterHub's config loader

classroom = Classroom.load()
port = int(os.environ.get("GRADER_HUB_PORT") or classroom.port)
state = classroom.state

c.JupyterHub.bind_url = f"http://127.0.0.1:{port}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{port + 1}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{port + 2}"
c.ConfigurableHTTPProxy.command = [str(classroom.proxy)]
c.ConfigurableHTTPProxy.pid_file = str(state / f"proxy-{port}.pid")
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
# Stop the proxy and every user's server with the hub (Ctrl-C, SIGTERM): nothing is left behind.
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.open_sessions = False  # no login session (systemd-logind) for a web login
c.Authenticator.allowed_users = set(classroom.users)
c.Authenticator.admin_users = set()

c.JupyterHub.load_groups = {
    f"formgrade-{classroom.course_id}": {"users": [classroom.instructor]},
    f"nbgrader-{classroom.course_id}": {"users": list(classroom.students)},
}
c.JupyterHub.load_roles = [
    {
        "name": "server",
        "description": "A user's server: post activity, and read its own user's name and groups (nbgrader)",
        "scopes": ["users:activity!user", "access:servers!server", "read:users:name!user",
                   "read:users:groups!user"],
    },
]

c.JupyterHub.spawner_class = "localprocess"
c.Spawner.ip = "127.0.0.1"
c.Spawner.default_url = "/lab"
c.Spawner.env_keep = ["LANG", "LC_ALL"]  # nothing else of the hub's (root's) environment
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 90


def per_user(spawner):
    """The user's environment: the course's for the instructor, the student environment for students."""
    name = spawner.user.name
    spawner.cmd = classroom.server_command(name)
    spawner.environment = classroom.server_environment(name)


c.Spawner.pre_spawn_hook = per_user

"""JupyterLab as the course opens it: `make lab` puts this folder on JUPYTER_CONFIG_PATH.

The settings in lab/settings/ are defaults (overrides.json), not user settings: whatever a
learner changes is still saved in their own ~/.jupyter, never in the repository.
"""

import os

c = get_config()  # noqa: F821 - provided by Jupyter when it loads this file
c.LabApp.app_settings_dir = os.path.join(os.path.dirname(__file__), "lab", "settings")

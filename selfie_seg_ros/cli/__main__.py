# Copyright 2026 selfie_seg_ros contributors. Licensed under the Apache License, Version 2.0.
"""``python -m selfie_seg_ros.cli``."""

import sys

from selfie_seg_ros.cli.app import main

sys.exit(main())

# selfie_seg_ros: `make demo` runs the main job on a bare machine, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_OUT ?= demo_output
export ROS_DOMAIN_ID ?= 42
export FASTDDS_DEFAULT_PROFILES_FILE ?= $(CURDIR)/config/fastdds_shm.xml

.PHONY: venv demo test lint bench bench-mediapipe venv-mediapipe docs clean

venv: $(STAMP)

$(STAMP): requirements/engine.txt requirements/ros-pypi.txt requirements/test.txt setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/engine.txt -r requirements/ros-pypi.txt \
		-r requirements/test.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(PY) scripts/demo.py --out $(DEMO_OUT)

test: $(STAMP)
	$(PY) -m ruff check selfie_seg_ros test benchmarks scripts launch
	$(PY) -m pytest -ra

lint: $(STAMP)
	$(PY) -m ruff check selfie_seg_ros test benchmarks scripts launch

bench: $(STAMP)
	$(PY) benchmarks/bench_engine.py

# MediaPipe's own runtime, for the speed and accuracy comparison only: a venv of its own, because
# mediapipe 0.10.21 pins numpy<2 (and pulls jax); never installed into $(VENV).
MP_VENV := .venv-mediapipe
MP_STAMP := $(MP_VENV)/.installed

venv-mediapipe: $(MP_STAMP)

$(MP_STAMP): requirements/ros-pypi.txt
	test -x $(MP_VENV)/bin/python || $(PYTHON) -m venv $(MP_VENV)
	$(MP_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MP_VENV)/bin/python -m pip install --quiet mediapipe==0.10.21 -r requirements/ros-pypi.txt
	touch $(MP_STAMP)

bench-mediapipe: $(STAMP) $(MP_STAMP)
	$(PY) benchmarks/bench_engine.py
	$(PY) benchmarks/parity.py --live

docs: $(STAMP)
	$(PY) scripts/render_figures.py
	SELFIE_SEG_CACHE=$(CURDIR)/.cache JUPYTER_PLATFORM_DIRS=1 $(VENV)/bin/jupyter-execute \
		--inplace docs/tutorial.ipynb

clean:
	rm -rf $(VENV) $(MP_VENV) build install log *.egg-info $(DEMO_OUT)

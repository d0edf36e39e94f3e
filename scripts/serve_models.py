#!/usr/bin/env python3
"""Serves ONNX files on a real KServe v2 server, for the served-model tests
and benchmarks (issue 17). Run it with the server's own venv's python:

  .venv-triton/bin/python scripts/serve_models.py triton WORKDIR HTTP_PORT GRPC_PORT NAME=FILE.onnx...
  .venv-mlserver/bin/python scripts/serve_models.py mlserver WORKDIR HTTP_PORT GRPC_PORT NAME=FILE.onnx...

It writes a model repository into WORKDIR, then replaces itself with the
server (so the caller's PID is the server's, to stop it by). Both servers run
each model with onnxruntime on CPU, so outputs match a local run:
- Triton (nvidia-pytriton==0.7.0 bundles tritonserver 2.51.0 with only the
  python backend): a python-backend model.py per model;
- MLServer 1.7.1: a custom runtime (OnnxRuntimeModel below).
"""
import json
import os
import sys
import sysconfig

TRITON_MODEL = '''
import json
import sys

# The stub's embedded Python does not start from the venv: its packages
# (onnxruntime) are on the path only once added here.
sys.path.insert(0, "@SITE@")
import onnxruntime  # noqa: E402
import triton_python_backend_utils as pb_utils  # noqa: E402


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        path = config["parameters"]["onnx_file"]["string_value"]
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = int(config["parameters"]["threads"]["string_value"])
        self.session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.outputs = [o.name for o in self.session.get_outputs()]

    def execute(self, requests):
        responses = []
        for request in requests:
            feeds = {name: pb_utils.get_input_tensor_by_name(request, name).as_numpy() for name in self.inputs}
            try:
                results = self.session.run(self.outputs, feeds)
            except Exception as error:  # a shape the model refuses: an error answer
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(str(error))))
                continue
            tensors = [pb_utils.Tensor(name, value) for name, value in zip(self.outputs, results)]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
        return responses
'''

MLSERVER_RUNTIME = '''
import onnxruntime
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceResponse


class OnnxRuntimeModel(MLModel):
    async def load(self):
        path = self.settings.parameters.extra["onnx_file"]
        self.session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        # Not `self.outputs`: MLModel has a property of that name.
        self.output_names = [o.name for o in self.session.get_outputs()]
        return True

    async def predict(self, payload):
        feeds = {i.name: NumpyCodec.decode_input(i) for i in payload.inputs}
        results = self.session.run(self.output_names, feeds)
        return InferenceResponse(
            model_name=self.name,
            outputs=[NumpyCodec.encode_output(name, value) for name, value in zip(self.output_names, results)],
        )
'''

TRITON_TYPES = {
    "tensor(float)": "TYPE_FP32", "tensor(uint8)": "TYPE_UINT8", "tensor(int64)": "TYPE_INT64",
    "tensor(int32)": "TYPE_INT32", "tensor(double)": "TYPE_FP64", "tensor(int8)": "TYPE_INT8",
}
KSERVE_TYPES = {
    "tensor(float)": "FP32", "tensor(uint8)": "UINT8", "tensor(int64)": "INT64",
    "tensor(int32)": "INT32", "tensor(double)": "FP64", "tensor(int8)": "INT8",
}


def dims(shape):
    return [d if isinstance(d, int) and d > 0 else -1 for d in shape]


def tensors(session_args):
    import onnxruntime
    session = onnxruntime.InferenceSession(session_args, providers=["CPUExecutionProvider"])
    return session.get_inputs(), session.get_outputs()


def triton_repository(workdir, models):
    repo = os.path.join(workdir, "repository")
    for name, path in models:
        inputs, outputs = tensors(path)
        os.makedirs(os.path.join(repo, name, "1"), exist_ok=True)
        with open(os.path.join(repo, name, "1", "model.py"), "w") as f:
            f.write(TRITON_MODEL.replace("@SITE@", sysconfig.get_paths()["purelib"]))

        def block(kind, items):
            return "\n".join(
                f'{kind} {{ name: "{t.name}" data_type: {TRITON_TYPES[t.type]} dims: {dims(t.shape)} }}'
                for t in items
            )
        config = (
            f'name: "{name}"\nbackend: "python"\nmax_batch_size: 0\n'
            f'{block("input", inputs)}\n{block("output", outputs)}\n'
            'instance_group [{ kind: KIND_CPU count: 1 }]\n'
            f'parameters {{ key: "onnx_file" value: {{ string_value: "{os.path.abspath(path)}" }} }}\n'
            f'parameters {{ key: "threads" value: {{ string_value: "{os.environ.get("SERVE_THREADS", "0")}" }} }}\n'
        )
        with open(os.path.join(repo, name, "config.pbtxt"), "w") as f:
            f.write(config)
    return repo


def exec_triton(workdir, http_port, grpc_port, models):
    repo = triton_repository(workdir, models)
    site = sysconfig.get_paths()["purelib"]
    wheel = os.path.join(site, "pytriton", "tritonserver")
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    # The python backend needs the stub for this Python beside it.
    backends = os.path.join(workdir, "backends")
    python_backend = os.path.join(backends, "python")
    os.makedirs(python_backend, exist_ok=True)
    for entry in os.listdir(os.path.join(wheel, "backends", "python")):
        target = os.path.join(python_backend, entry)
        if not os.path.lexists(target):
            os.symlink(os.path.join(wheel, "backends", "python", entry), target)
    stub = os.path.join(python_backend, "triton_python_backend_stub")
    if not os.path.lexists(stub):
        os.symlink(os.path.join(wheel, "python_backend_stubs", version, "triton_python_backend_stub"), stub)
    env = dict(os.environ)
    # This interpreter's libpython first, or the stub loads the system's
    # under this venv's standard library.
    libs = [sysconfig.get_config_var("LIBDIR"), os.path.join(site, "nvidia_pytriton.libs")]
    env["LD_LIBRARY_PATH"] = ":".join(libs + [env.get("LD_LIBRARY_PATH", "")])
    env["PYTHONPATH"] = site
    args = [
        os.path.join(wheel, "bin", "tritonserver"),
        f"--model-repository={repo}", f"--backend-directory={backends}",
        f"--cache-directory={os.path.join(wheel, 'caches')}",
        "--http-address=127.0.0.1", "--grpc-address=127.0.0.1",
        f"--http-port={http_port}", f"--grpc-port={grpc_port}",
        "--allow-metrics=false", "--strict-readiness=true", "--log-verbose=0",
    ]
    os.execve(args[0], args, env)


def exec_mlserver(workdir, http_port, grpc_port, models):
    repo = os.path.join(workdir, "mlserver")
    os.makedirs(repo, exist_ok=True)
    with open(os.path.join(repo, "onnx_runtime.py"), "w") as f:
        f.write(MLSERVER_RUNTIME)
    with open(os.path.join(repo, "settings.json"), "w") as f:
        json.dump({"host": "127.0.0.1", "http_port": http_port, "grpc_port": grpc_port,
                   "metrics_port": 0, "metrics_endpoint": None, "parallel_workers": 0,
                   "load_models_at_startup": True}, f)
    for name, path in models:
        inputs, outputs = tensors(path)
        os.makedirs(os.path.join(repo, name), exist_ok=True)

        def described(items):
            return [{"name": t.name, "datatype": KSERVE_TYPES[t.type], "shape": dims(t.shape)} for t in items]
        with open(os.path.join(repo, name, "model-settings.json"), "w") as f:
            json.dump({"name": name, "implementation": "onnx_runtime.OnnxRuntimeModel",
                       "inputs": described(inputs), "outputs": described(outputs),
                       "parameters": {"extra": {"onnx_file": os.path.abspath(path)}}}, f)
    os.chdir(repo)
    mlserver = os.path.join(os.path.dirname(sys.executable), "mlserver")
    os.execv(mlserver, [mlserver, "start", repo])


def main():
    server, workdir, http_port, grpc_port, *pairs = sys.argv[1:]
    models = [tuple(pair.split("=", 1)) for pair in pairs]
    os.makedirs(workdir, exist_ok=True)
    {"triton": exec_triton, "mlserver": exec_mlserver}[server](workdir, int(http_port), int(grpc_port), models)


if __name__ == "__main__":
    main()

"""Builds the package with the gRPC stubs generated from the repository's proto
(`proto/agentshim/v1/agentshim.proto`), so the stubs are never out of date and never
committed: `pip install ./clients/python` from a clone."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PROTO_ROOT = Path(__file__).resolve().parent.parent.parent / "proto"
PROTO = "agentshim/v1/agentshim.proto"


class BuildWithStubs(build_py):
    """Generates `agentshim/v1/agentshim_pb2*.py` into the build beside the package."""

    def run(self):
        super().run()
        import grpc_tools
        from grpc_tools import protoc

        out = Path(self.build_lib)
        includes = Path(grpc_tools.__file__).parent / "_proto"
        args = [
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"-I{includes}",
            f"--python_out={out}",
            f"--pyi_out={out}",
            f"--grpc_python_out={out}",
            str(PROTO_ROOT / PROTO),
        ]
        if protoc.main(args) != 0:
            raise RuntimeError(f"protoc failed on {PROTO_ROOT / PROTO}")
        (out / "agentshim" / "v1" / "__init__.py").touch()


setup(cmdclass={"build_py": BuildWithStubs})

"""The vicoop.v1 protobuf contract and the Python code generated from it.

Import the generated modules as ``from protos.vicoop.v1 import perception_pb2``. Regenerate
with ``make protos`` (``python -m protos.generate``) after changing a ``.proto`` file.
"""

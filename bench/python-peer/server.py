"""The Python peer of `npm run bench:serving`.

FastAPI on uvicorn (uvloop event loop, httptools parser: the fastest configuration uvicorn
offers), one worker process, serving one ONNX model with onnxruntime under the same KServe V2
REST request and response shape as modelship: POST /v2/models/{name}/infer. It is meant to be a
strong peer, not a straw man: the body is parsed with orjson straight into numpy, and inference runs
inline on the event loop (a single-row run takes microseconds; a thread hop would cost more).
Session options are onnxruntime's defaults, as for the Node servers; the benchmark pins the
process to one core.

Usage: python server.py MODEL.onnx PORT
"""

import sys

import numpy as np
import onnxruntime as ort
import orjson
import uvicorn
from fastapi import FastAPI, Request, Response

DTYPES = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32}
DATATYPES = {
    "tensor(float)": "FP32",
    "tensor(double)": "FP64",
    "tensor(int64)": "INT64",
    "tensor(int32)": "INT32",
}

model_path, port = sys.argv[1], int(sys.argv[2])
options = ort.SessionOptions()
options.log_severity_level = 3
session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
outputs_meta = [(o.name, DATATYPES.get(o.type, "BYTES")) for o in session.get_outputs()]

app = FastAPI()


@app.post("/v2/models/{name}/infer")
async def infer(name: str, request: Request) -> Response:
    try:
        body = orjson.loads(await request.body())
        feeds = {
            tensor["name"]: np.asarray(tensor["data"], dtype=DTYPES[tensor["datatype"]]).reshape(tensor["shape"])
            for tensor in body["inputs"]
        }
        results = session.run(None, feeds)
    except Exception as error:  # a bad request must not take the server down
        return Response(orjson.dumps({"error": str(error)}), status_code=400, media_type="application/json")
    outputs = [
        {"name": out_name, "datatype": datatype, "shape": list(value.shape), "data": value.ravel().tolist()}
        for (out_name, datatype), value in zip(outputs_meta, results)
    ]
    return Response(orjson.dumps({"model_name": name, "outputs": outputs}), media_type="application/json")


if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )

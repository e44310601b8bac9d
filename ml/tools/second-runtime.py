#!/usr/bin/python3
"""Checks an exported .onnx model outside ONNX Runtime, for ml's export tests.

  second-runtime.py check MODEL
      onnx.checker.check_model(full_check=True) (shape inference included); prints 'ok'.
  second-runtime.py opencv MODEL INPUT N C H W OUTPUT [OUTPUT_NAME]
      runs the model in OpenCV's DNN module on INPUT (raw float32, N*C*H*W values) and writes the
      output OUTPUT_NAME (default 'logits') as raw float32 to OUTPUT; prints its shape as JSON.

Run it with Debian's python (/usr/bin/python3: python3-onnx, python3-opencv)."""
import json
import sys


def check(model_path):
    import onnx

    onnx.checker.check_model(onnx.load(model_path), full_check=True)
    print('ok')


def opencv(model_path, input_path, n, c, h, w, output_path, output_name='logits'):
    import cv2
    import numpy as np

    net = cv2.dnn.readNetFromONNX(model_path)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    x = np.fromfile(input_path, dtype=np.float32).reshape(int(n), int(c), int(h), int(w))
    net.setInput(x, 'image')
    y = np.ascontiguousarray(net.forward(output_name), dtype=np.float32)
    y.tofile(output_path)
    print(json.dumps(list(y.shape)))


if __name__ == '__main__':
    if len(sys.argv) >= 3 and sys.argv[1] == 'check':
        check(sys.argv[2])
    elif len(sys.argv) >= 9 and sys.argv[1] == 'opencv':
        opencv(*sys.argv[2:])
    else:
        sys.exit(__doc__)

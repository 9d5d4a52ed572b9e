/**
 * Backend interface: the runtime only needs "load a graph from bytes" and "run it on named tensors".
 * Node (onnxruntime-node) and browser (onnxruntime-web: wasm / webgpu) both implement it through
 * `makeOrtBackend`, which takes the ort module so this file stays browser-safe.
 */

export type TensorData = Float32Array | BigInt64Array;

export interface Tensor {
  data: TensorData;
  dims: number[];
}

export interface Session {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>>;
}

export interface Backend {
  /** e.g. "onnxruntime-node (cpu)", "onnxruntime-web (webgpu)" */
  name: string;
  load(model: Uint8Array, label: string): Promise<Session>;
}

/** The slice of the onnxruntime API (node or web) that we use. */
export interface OrtModule {
  InferenceSession: {
    create(model: Uint8Array, options?: Record<string, unknown>): Promise<OrtSession>;
  };
  Tensor: new (type: "float32" | "int64", data: TensorData, dims: readonly number[]) => OrtTensor;
}

interface OrtTensor {
  data: unknown;
  dims: readonly number[];
  type: string;
  getData?: () => Promise<unknown>;
  location?: string;
}

interface OrtSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
}

export class ModelFileError extends Error {
  constructor(label: string, cause: unknown) {
    super(`${label}: cannot load ONNX model (${cause instanceof Error ? cause.message.split("\n")[0] : String(cause)})`);
    this.name = "ModelFileError";
  }
}

export function makeOrtBackend(ort: OrtModule, name: string, sessionOptions: Record<string, unknown>): Backend {
  return {
    name,
    async load(model: Uint8Array, label: string): Promise<Session> {
      let s: OrtSession;
      try {
        s = await ort.InferenceSession.create(model, sessionOptions);
      } catch (e) {
        throw new ModelFileError(label, e);
      }
      return {
        inputNames: s.inputNames,
        outputNames: s.outputNames,
        async run(feeds) {
          const f: Record<string, OrtTensor> = {};
          for (const [k, t] of Object.entries(feeds)) {
            f[k] = new ort.Tensor(t.data instanceof BigInt64Array ? "int64" : "float32", t.data, t.dims);
          }
          let out: Record<string, OrtTensor>;
          try {
            out = await s.run(f);
          } catch (e) {
            // one line naming the graph file (onnxruntime's own message may span lines)
            throw new Error(`${label}: onnxruntime run failed (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`);
          }
          const r: Record<string, Tensor> = {};
          for (const [k, t] of Object.entries(out)) {
            const data = (t.location && t.location !== "cpu" && t.getData ? await t.getData() : t.data) as TensorData;
            r[k] = { data, dims: [...t.dims] };
          }
          return r;
        },
      };
    },
  };
}

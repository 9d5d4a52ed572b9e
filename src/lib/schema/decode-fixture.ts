/** The reference decode the system page checks onnxruntime-web against (written by src/data/decode_fixture.json.ts). */
export interface DecodeFixture {
  config_hash: string | null;
  f_hat_shape: number[];
  image_shape: number[];
  f_hat: number[];
  image: number[];
}

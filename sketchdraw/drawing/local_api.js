// The drawing page's /api routes answered in the browser by TensorFlow.js, so that the exported
// page (`sketchdraw export --web`) works from any static host, with no Python behind it.
//
// The Python server searches in two stages (sketchdraw/drawing/completion.py): it screens a bank of
// noise vectors by the loss below, then refines the best by gradient steps. A TF.js graph model
// runs forward only, so this page screens a larger bank instead and keeps the best: the same loss,
//
//   mean over the drawn pixels of (1 - ink)^2
//   + OUTSIDE_WEIGHT * mean, away from the strokes (3x3 neighbourhood), of ink^2
//   + PRIOR_WEIGHT * (mean(z^2) - 1)^2
//
// Saved drawings become downloads (PNG, and .npy in the numpy_bitmap convention: one row of 784
// bytes, 255 = ink) instead of files in the run folder.
(() => {
  "use strict";
  const SIZE = 28;
  // Vectors screened per (seed, category): a graphics card draws a thousand in about a second; the
  // CPU backend about three a second on one core, so it screens fewer (and finds rougher fits).
  const BANK = {webgl: 1024, cpu: 64};
  const NEAR = 64;            // vectors tried around a chosen one ("more like this")
  const SPREAD = 0.6;         // their distance from it, in standard deviations
  const BATCH = 128;          // vectors per generator call
  const OUTSIDE_WEIGHT = 0.05;
  const PRIOR_WEIGHT = 0.05;

  const info = fetch("info.json").then(response => {
    if (!response.ok) throw new Error(`info.json: the export is incomplete (${response.status})`);
    return response.json();
  });
  // WebGL on a software rasteriser (a headless browser, a machine without a graphics card) runs
  // the generator about twice as slowly as TF.js's plain CPU backend: use that one there.
  function softwareWebgl() {
    const gl = document.createElement("canvas").getContext("webgl");
    if (!gl) return true;
    const details = gl.getExtension("WEBGL_debug_renderer_info");
    const renderer = details ? String(gl.getParameter(details.UNMASKED_RENDERER_WEBGL)) : "";
    return /swiftshader|llvmpipe|software/i.test(renderer);
  }
  const backend = (async () => {
    if (softwareWebgl()) await tf.setBackend("cpu");
    await tf.ready();
    return tf.getBackend();
  })();
  const model = backend.then(() => tf.loadGraphModel("model/model.json"));
  const banks = new Map();    // "seed/label" -> {vectors: Float32Array[], inks: Float32Array[]}

  // A seeded normal generator (mulberry32 and Box-Muller): the same seed draws the same bank.
  function normals(seed, count) {
    let state = seed >>> 0;
    const uniform = () => {
      state = (state + 0x6D2B79F5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
    };
    const values = new Float32Array(count);
    for (let i = 0; i < count; i += 2) {
      const radius = Math.sqrt(-2 * Math.log(uniform()));
      const angle = 2 * Math.PI * uniform();
      values[i] = radius * Math.cos(angle);
      if (i + 1 < count) values[i + 1] = radius * Math.sin(angle);
    }
    return values;
  }

  // The drawings of `vectors` (each noise_dim numbers) as ink in [0, 1], SIZE*SIZE each.
  async function draw(vectors, label) {
    const [graph, details] = await Promise.all([model, info]);
    const inks = [];
    for (let start = 0; start < vectors.length; start += BATCH) {
      const part = vectors.slice(start, start + BATCH);
      const flat = new Float32Array(part.length * details.noise_dim);
      part.forEach((vector, index) => flat.set(vector, index * details.noise_dim));
      const inputs = graph.inputs.map(input => input.shape.length === 2
        ? tf.tensor2d(flat, [part.length, details.noise_dim])
        : tf.fill([part.length], label, "int32"));
      const output = graph.execute(inputs.length === 1 ? inputs[0] : inputs);
      const values = await output.data();
      tf.dispose([output, ...inputs]);
      for (let index = 0; index < part.length; index++) {
        const ink = new Float32Array(SIZE * SIZE);
        for (let pixel = 0; pixel < ink.length; pixel++) {
          ink[pixel] = Math.min(1, Math.max(0, (values[index * ink.length + pixel] + 1) / 2));
        }
        inks.push(ink);
      }
    }
    return inks;
  }

  function neighbourhood(mask) {
    const near = new Float32Array(mask.length);
    for (let row = 0; row < SIZE; row++) {
      for (let column = 0; column < SIZE; column++) {
        let most = 0;
        for (let dr = -1; dr <= 1; dr++) {
          for (let dc = -1; dc <= 1; dc++) {
            const r = row + dr, c = column + dc;
            if (r >= 0 && r < SIZE && c >= 0 && c < SIZE) most = Math.max(most, mask[r * SIZE + c]);
          }
        }
        near[row * SIZE + column] = most;
      }
    }
    return near;
  }

  function loss(ink, vector, mask, near, drawn) {
    let inside = 0, outside = 0;
    for (let pixel = 0; pixel < ink.length; pixel++) {
      inside += mask[pixel] * (1 - ink[pixel]) ** 2;
      outside += (1 - near[pixel]) * ink[pixel] ** 2;
    }
    let square = 0;
    for (const value of vector) square += value * value;
    return inside / Math.max(drawn, 1e-6) + OUTSIDE_WEIGHT * outside / ink.length
      + PRIOR_WEIGHT * (square / vector.length - 1) ** 2;
  }

  function dataUrl(ink) {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = SIZE;
    const context = canvas.getContext("2d");
    const image = context.createImageData(SIZE, SIZE);
    ink.forEach((value, pixel) => {
      const paper = 255 - Math.round(value * 255);  // dark ink on white paper, as the server's PNGs
      image.data.set([paper, paper, paper, 255], pixel * 4);
    });
    context.putImageData(image, 0, 0);
    return canvas.toDataURL("image/png");
  }

  function npyBytes(ink) {
    // NumPy's .npy format 1.0: magic, version, header length, a dict padded to 64 bytes, the data
    let header = "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 784), }";
    header += " ".repeat(64 - ((10 + header.length + 1) % 64)) + "\n";
    const bytes = new Uint8Array(10 + header.length + ink.length);
    bytes.set([0x93, ...Array.from("NUMPY", c => c.charCodeAt(0)), 1, 0, header.length & 255, header.length >> 8]);
    bytes.set(Array.from(header, c => c.charCodeAt(0)), 10);
    bytes.set(Array.from(ink, value => Math.round(value * 255)), 10 + header.length);
    return bytes;
  }

  function labelOf(details, category) {
    const label = details.categories.indexOf(category ?? details.categories[0]);
    if (label < 0) throw new Error(`this run draws ${details.categories.join(", ")}; not ${category}`);
    return label;
  }

  async function bank(seed, label, noiseDim) {
    const key = `${seed}/${label}`;
    if (!banks.has(key)) {
      const size = BANK[await backend] ?? BANK.cpu;
      const values = normals(seed, size * noiseDim);
      const vectors = Array.from({length: size}, (_, index) => values.slice(index * noiseDim, (index + 1) * noiseDim));
      banks.set(key, {vectors, inks: await draw(vectors, label)});
    }
    return banks.get(key);
  }

  async function complete(request) {
    const details = await info;
    const started = performance.now();
    const label = labelOf(details, request.category);
    const count = request.count ?? 8;
    if (!Number.isInteger(count) || count < 1 || count > details.max_count) {
      throw new Error(`count is the number of suggestions, 1 to ${details.max_count}`);
    }
    const mask = Float32Array.from(request.ink ?? [], value => value / 255);
    const drawn = mask.reduce((sum, value) => sum + value, 0);
    let vectors, inks;
    if (request.around) {
      const values = normals(request.seed ?? 0, NEAR * details.noise_dim);
      vectors = Array.from({length: NEAR}, (_, index) => Float32Array.from(request.around, (centre, i) =>
        index === 0 ? centre : centre + SPREAD * values[index * details.noise_dim + i]));
      inks = await draw(vectors, label);
    } else {
      ({vectors, inks} = await bank(request.seed ?? 0, label, details.noise_dim));
    }
    let order = vectors.map((_, index) => index);
    let losses = new Array(vectors.length).fill(0);
    if (drawn > 0.5) {
      const near = neighbourhood(mask);
      losses = vectors.map((vector, index) => loss(inks[index], vector, mask, near, drawn));
      order.sort((a, b) => losses[a] - losses[b]);
    }
    order = order.slice(0, count);
    const completions = order.map(index => {
      let covered = 0;
      inks[index].forEach((value, pixel) => { covered += value * mask[pixel]; });
      return {image: dataUrl(inks[index]), noise: Array.from(vectors[index]),
              agreement: drawn > 0.5 ? covered / drawn : 0, loss: losses[index]};
    });
    return {completions, seconds: (performance.now() - started) / 1000};
  }

  let saved = 0;
  async function save(request) {
    const details = await info;
    const label = labelOf(details, request.category);
    if (!Array.isArray(request.noise) || request.noise.length !== details.noise_dim) {
      throw new Error(`a noise vector is ${details.noise_dim} numbers`);
    }
    const [ink] = await draw([Float32Array.from(request.noise)], label);
    const stem = `drawing-${String(++saved).padStart(4, "0")}`;
    const png = await (await fetch(dataUrl(ink))).blob();
    return {png: URL.createObjectURL(png), npy: URL.createObjectURL(new Blob([npyBytes(ink)])),
            names: [`${stem}.png`, `${stem}.npy`], folder: "your browser's downloads (click to save)"};
  }

  const answer = (status, body) => new Response(JSON.stringify(body),
    {status, headers: {"Content-Type": "application/json"}});
  const routes = {
    "/api/info": async () => {
      const details = await info;
      await model;  // the page asks for samples next: report a model that does not load here
      return details;
    },
    "/api/complete": complete,
    "/api/save": save,
  };
  const networkFetch = window.fetch.bind(window);
  window.fetch = async (resource, options = {}) => {
    const path = new URL(typeof resource === "string" ? resource : resource.url, location.href).pathname;
    const route = Object.keys(routes).find(name => path === name);
    if (!route) return networkFetch(resource, options);
    try {
      return answer(200, await routes[route](options.body ? JSON.parse(options.body) : {}));
    } catch (error) {
      return answer(400, {error: String(error.message || error)});
    }
  };
})();

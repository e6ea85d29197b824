/*
 * CineGen — export projects from the old browser-only app.
 *
 * Open the old CineGen app in your browser, open the developer console (F12 → Console), paste
 * this whole file and press Enter. It reads every project the old app kept in this browser
 * (IndexedDB), and downloads them as one `cinegen-export-YYYY-MM-DD.json` file. Import that file
 * in the new CineGen: Dashboard → Import (or POST /api/v1/import/legacy).
 *
 * Images kept as Blobs are embedded as data: URIs, so they survive; provider links that have
 * already expired cannot be recovered and are reported as missing by the importer.
 */
(async () => {
  const looksLikeProject = (value) =>
    value && typeof value === "object" && typeof value.title === "string" &&
    ("shots" in value || "scriptData" in value || "rawScript" in value);

  const blobToDataUri = (blob) =>
    new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(blob);
    });

  // Replaces every Blob inside a value with a data: URI, so JSON can carry it.
  const inlineBlobs = async (value) => {
    if (value instanceof Blob) return blobToDataUri(value);
    if (Array.isArray(value)) return Promise.all(value.map(inlineBlobs));
    if (value && typeof value === "object") {
      const out = {};
      for (const [key, inner] of Object.entries(value)) out[key] = await inlineBlobs(inner);
      return out;
    }
    return value;
  };

  const readAll = (db, storeName) =>
    new Promise((resolve, reject) => {
      const request = db.transaction(storeName, "readonly").objectStore(storeName).getAll();
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });

  const open = (name) =>
    new Promise((resolve, reject) => {
      const request = indexedDB.open(name);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });

  const toEntry = (state) => ({
    id: state.id,
    title: state.title,
    createdAt: state.createdAt,
    lastModified: state.lastModified,
    rawScript: state.rawScript ?? "",
    scriptData: state.scriptData ?? null,
    shots: state.shots ?? [],
    mergedVideoUrl: state.mergedVideoUrl ?? null,
    settings: {
      stage: state.stage,
      targetDuration: state.targetDuration,
      language: state.language,
      visualStyle: state.visualStyle,
      imageSize: state.imageSize,
      imageCount: state.imageCount,
    },
  });

  const projects = [];
  const databases = indexedDB.databases ? await indexedDB.databases() : [];
  for (const { name } of databases) {
    if (!name) continue;
    const db = await open(name);
    for (const storeName of Array.from(db.objectStoreNames)) {
      for (const record of await readAll(db, storeName)) {
        if (looksLikeProject(record)) projects.push(toEntry(await inlineBlobs(record)));
      }
    }
    db.close();
  }
  if (projects.length === 0) {
    console.warn("CineGen export: no projects were found in this browser's storage.");
    return;
  }
  const file = { version: "1.0", exportDate: new Date().toISOString(), projects };
  const blob = new Blob([JSON.stringify(file, null, 2)], { type: "application/json" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `cinegen-export-${file.exportDate.slice(0, 10)}.json`;
  document.body.appendChild(link);
  link.click();
  link.remove();
  console.info(`CineGen export: downloaded ${projects.length} project(s).`);
})();

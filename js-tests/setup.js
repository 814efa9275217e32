// Load the sheet's browser scripts into Node: IndexedDB from fake-indexeddb, idb's UMD
// build, then the scripts themselves (they attach SheetState, SheetModel, SheetStore to
// globalThis as they do to `self` in a browser).
"use strict";
require("fake-indexeddb/auto");
globalThis.idb = require("idb");
globalThis.location = globalThis.location || { href: "http://127.0.0.1:5000/distributions/1/sheet" };
globalThis.SheetState = require("../webapp/static/js/sheet-state.js").SheetState;
require("../webapp/static/js/sheet-model.js");
require("../webapp/static/js/sheet-store.js");
module.exports = { SheetState: globalThis.SheetState, SheetModel: globalThis.SheetModel, SheetStore: globalThis.SheetStore };

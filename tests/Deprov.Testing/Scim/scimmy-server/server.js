// An independent SCIM 2.0 service provider for Deprov's tests. scimmy parses requests, filters, attribute projections
// and applies PATCH; scimmy-routers serves the RFC 7644 endpoints. This file only wires them to in-memory storage and
// seeds nothing: tests create users and groups through the SCIM API.
//
// Usage: SCIMMY_TOKEN=<token> node server.js   (listens on 127.0.0.1 and a free port; prints "listening <port>")
import crypto from "node:crypto";
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";

const token = process.env.SCIMMY_TOKEN;
if (!token) {
    console.error("SCIMMY_TOKEN is not set");
    process.exit(2);
}

// Advertise what scimmy implements, so clients read the truth from ServiceProviderConfig.
SCIMMY.Config.set({patch: true, filter: 200, sort: true, bulk: false, etag: false, changePassword: false});

const stores = {User: new Map(), Group: new Map()};

function declare(resource, store) {
    SCIMMY.Resources.declare(resource, {
        // Create (no id) or replace (id): scimmy has already validated the instance and, for PATCH, applied the operations.
        async ingress(res, instance) {
            if (res.id && !store.has(res.id)) throw new SCIMMY.Types.Error(404, null, `Resource ${res.id} not found`);
            const id = res.id ?? crypto.randomUUID();
            const now = new Date();
            const created = res.id ? store.get(id).meta.created : now;
            const record = {...JSON.parse(JSON.stringify(instance)), id, meta: {created, lastModified: now}};
            store.set(id, record);
            return record;
        },
        // Read by id, or list: scimmy's own Filter decides what matches; scimmy's ListResponse pages and projects.
        async egress(res) {
            if (res.id) {
                if (!store.has(res.id)) throw new SCIMMY.Types.Error(404, null, `Resource ${res.id} not found`);
                return store.get(res.id);
            }
            const all = [...store.values()];
            return res.filter ? res.filter.match(all) : all;
        },
        async degress(res) {
            if (!store.delete(res.id)) throw new SCIMMY.Types.Error(404, null, `Resource ${res.id} not found`);
        },
    });
}

declare(SCIMMY.Resources.User, stores.User);
declare(SCIMMY.Resources.Group, stores.Group);

const app = express();
app.use("/scim/v2", new SCIMMYRouters({
    type: "bearer",
    handler: (request) => {
        if (request.header("Authorization") !== `Bearer ${token}`) throw new Error("Authorization failed");
        return "deprov-tests";
    },
}));

const server = app.listen(0, "127.0.0.1", () => console.log(`listening ${server.address().port}`));
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));

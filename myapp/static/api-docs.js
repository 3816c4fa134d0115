// The API explorer (/api/docs): Swagger UI from our own static files, reading /api/openapi.json.
// "Authorize" takes an API key; "Try it out" sends requests from this page to this server.
"use strict";
(function () {
  var element = document.getElementById("explorer");
  window.explorer = SwaggerUIBundle({
    url: element.dataset.spec,
    domNode: element,
    deepLinking: true,
    persistAuthorization: false,
    validatorUrl: null, // never ask a remote validator
    tryItOutEnabled: false,
  });
})();

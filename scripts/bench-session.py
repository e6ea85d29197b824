# Sessions for browser benchmarks (`scripts/bench lighthouse`) against a cinegen server.
#   bench-session.py BASE_URL setup EMAIL   register, create the 300-shot project; print its id
#   bench-session.py BASE_URL cookie EMAIL  sign in; print a fresh refresh cookie (each page load
#                                           spends one: a refresh token works once)
import json, sys, urllib.request
base, command, email = sys.argv[1], sys.argv[2], sys.argv[3]
PASSWORD = "correct horse battery"

def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body is not None else None, method=method)
    req.add_header('Content-Type', 'application/json')
    if token:
        req.add_header('Authorization', 'Bearer ' + token)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read()), r.headers.get_all('Set-Cookie') or []

def shots():
    out = []
    for i in range(300):
        out.append({"id": f"shot-{i}", "sceneId": f"scene-{i % 12}", "actionSummary": "长街上两人并肩而行，晨雾弥漫，远处传来钟声",
            "dialogue": "沈青禾：我要查清父亲的冤案。", "cameraMovement": "横移", "shotSize": "远景",
            "keyframes": [{"id": f"kf-{i}-s", "type": "start", "visualPrompt": "明代京城街道，晨雾", "status": "pending"},
                          {"id": f"kf-{i}-e", "type": "end", "visualPrompt": "长街尽头，城门，晨光", "status": "pending"}],
            "interval": {"id": f"int-{i}", "startKeyframeId": f"kf-{i}-s", "endKeyframeId": f"kf-{i}-e", "duration": 5,
                         "motionStrength": 5, "status": "pending"}})
    return out

if command == 'setup':
    session, _ = call('POST', '/api/v1/auth/register', {"email": email, "password": PASSWORD, "name": "Bench"})
    token = session['data']['tokens']['access']
    for n in range(5):
        call('POST', '/api/v1/projects', {"title": f"短剧 {n + 1}"}, token)
    data = {"title": "古装长篇", "script_data": {"title": "古装长篇", "logline": "三百个分镜", "characters": [], "scenes": [],
            "storyParagraphs": []}, "shots": shots(), "stage": "director"}
    project, _ = call('POST', '/api/v1/projects', data, token)
    print(project['data']['project']['id'])
elif command == 'cookie':
    _, cookies = call('POST', '/api/v1/auth/login', {"email": email, "password": PASSWORD})
    refresh = next(c.split(';', 1)[0] for c in cookies if c.startswith('cinegen_refresh='))
    print(refresh)

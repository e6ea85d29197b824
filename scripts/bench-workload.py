# A fixed workload against a cinegen server, for `scripts/bench instructions`: register, create
# a 300-shot project, then GETS reads and PUTS full writes of it (each based on the answer before).
# Usage: bench-workload.py BASE_URL GETS PUTS
import json, sys, urllib.request
base, gets, puts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def call(method, path, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header('Content-Type', 'application/json')
    if token: req.add_header('Authorization', 'Bearer ' + token)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())
shots = []
for i in range(300):
    shots.append({"id": f"shot-{i}", "sceneId": f"scene-{i % 12}", "actionSummary": "长街上两人并肩而行，晨雾弥漫，远处传来钟声" * 2,
        "dialogue": "沈青禾：我要查清父亲的冤案。", "cameraMovement": "横移", "shotSize": "远景", "characters": ["char-1", "char-2"],
        "keyframes": [{"id": f"kf-{i}-s", "type": "start", "visualPrompt": "明代京城街道，晨雾" * 4, "status": "pending"},
                      {"id": f"kf-{i}-e", "type": "end", "visualPrompt": "长街尽头，城门，晨光" * 3, "status": "pending"}],
        "interval": {"id": f"int-{i}", "startKeyframeId": f"kf-{i}-s", "endKeyframeId": f"kf-{i}-e", "duration": 5, "motionStrength": 5, "status": "pending"}})
s = call('POST', '/api/v1/auth/register', {"email": "cg@example.com", "password": "correct horse battery", "name": "cg"})
token = s['data']['tokens']['access']
p = call('POST', '/api/v1/projects', {"title": "古装", "script_data": {"title": "古装", "logline": "x", "characters": [], "scenes": [], "storyParagraphs": []}, "shots": shots}, token)['data']['project']
pid = p['id']
for _ in range(gets):
    p = call('GET', f'/api/v1/projects/{pid}', token=token)['data']['project']
for i in range(puts):
    p['shots'][i % 300]['dialogue'] = f'第{i}次修改'
    body = {k: p[k] for k in ('version', 'shots', 'script_data', 'raw_script')}
    p = call('PUT', f'/api/v1/projects/{pid}', body, token)['data']['project']
print('done', p['version'])

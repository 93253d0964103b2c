def h(e,c):
    return {'e': e}

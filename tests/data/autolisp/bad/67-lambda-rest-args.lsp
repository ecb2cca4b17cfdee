;; expect: bad-special-form
(defun c:DBL (/ lst)
  (setq lst '(1 2 3))
  (princ (mapcar '(lambda x (* x 2)) lst))
  (princ)
)

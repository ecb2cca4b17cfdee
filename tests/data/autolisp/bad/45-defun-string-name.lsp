;; expect: bad-defun
(defun "c:NAME" ()
  (princ)
)
